// Package fnserver is the harness around a Go user function: health endpoint, the
// function-side anomalies (slow, 500, reset) and a JSON reply that echoes the trace headers
// the function received, so tests can check the platform forwarded them unchanged.
package fnserver

import (
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"difftrace/platform/internal/inject"
	"difftrace/platform/internal/tracectx"
)

// Wrap serves work behind the function's anomaly injection; name is the process comm.
func Wrap(name string, work http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintf(w, "ok %s\n", name)
			return
		}
		a, ok, err := inject.For(r.Header, name, inject.Slow, inject.Fail, inject.Reset)
		if err != nil {
			http.Error(w, name+": "+err.Error(), http.StatusBadRequest)
			return
		}
		if ok {
			log.Printf("%s: injecting %s (trace %s)", name, a, tracectx.TraceID(r.Header))
			switch a.Kind {
			case inject.Slow:
				time.Sleep(a.Amount)
			case inject.Fail:
				http.Error(w, "difftrace: injected 500 at "+name, http.StatusInternalServerError)
				return
			case inject.Reset:
				reset(w)
				return
			}
		}
		work(w, r)
	})
}

// reset closes the client connection with an RST instead of answering: SO_LINGER 0 makes
// close() abort the connection.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		log.Printf("reset: hijack: %v", err)
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// Reply writes the function's JSON answer: its own fields plus who served it and which trace
// headers arrived.
func Reply(w http.ResponseWriter, r *http.Request, name string, fields map[string]any) {
	out := map[string]any{"fn": name, "pid": os.Getpid(), "path": r.URL.Path}
	for _, h := range []string{"traceparent", "tracestate", "b3", "X-B3-TraceId", "X-B3-SpanId"} {
		if v := r.Header.Get(h); v != "" {
			out[h] = v
		}
	}
	for k, v := range fields {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
