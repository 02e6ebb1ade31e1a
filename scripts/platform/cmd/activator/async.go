package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"difftrace/platform/internal/proxy"
	"difftrace/platform/internal/tracectx"
)

// asyncRunner implements Knative-style async invocation: the activator answers 202 at once
// and a worker sends the request to the function's queue-proxy later.
//
// Linking the async edge: the activator makes up a span id S for its own span of the
// original request, returns it in a W3C `traceresponse: 00-<trace>-<S>-<flags>` header on
// the 202, and sends the deferred request with `traceparent: 00-<trace>-<S>-<flags>`: same
// trace id, parent = the activator's span. B3 headers are rewritten the same way. Both the
// 202 and the deferred request carry X-Difftrace-Async-Id, which links them even when the
// client sent no trace headers (then no trace headers are invented).
type asyncRunner struct {
	jobs    chan *asyncJob
	client  *http.Client
	pending atomic.Int64 // accepted and not finished
	queued  atomic.Int64 // accepted and not taken by a worker (at most cap(jobs))
	logMu   sync.Mutex
	logFile *os.File
}

type asyncJob struct {
	req *http.Request
	rec asyncRecord
}

// asyncRecord is one line of the async log: what ran, when, and how it ended.
type asyncRecord struct {
	AsyncID      string `json:"async_id"`
	TraceID      string `json:"trace_id,omitempty"`
	ParentSpanID string `json:"parent_span_id,omitempty"`
	Function     string `json:"function"`
	Path         string `json:"path"`
	AcceptedNs   int64  `json:"accepted_ns"`
	StartNs      int64  `json:"start_ns"`
	EndNs        int64  `json:"end_ns"`
	Status       int    `json:"status"`
	Error        string `json:"error,omitempty"`
}

const maxAsyncBody = 1 << 20

func newAsyncRunner(workers, depth int, logPath string, conns int) (*asyncRunner, error) {
	a := &asyncRunner{
		jobs:   make(chan *asyncJob, depth),
		client: &http.Client{Transport: proxy.NewTransport(conns), Timeout: 60 * time.Second},
	}
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("activator: async log: %w", err)
		}
		a.logFile = f
	}
	for i := 0; i < workers; i++ {
		go a.work()
	}
	return a, nil
}

func wantsAsync(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "respond-async") {
				return true
			}
		}
	}
	return false
}

// hopByHop are headers that belong to one connection and must not be replayed.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Prefer"}

func (a *asyncRunner) handoff(w http.ResponseWriter, r *http.Request, target *url.URL) bool {
	if !wantsAsync(r.Header) {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAsyncBody+1))
	if err != nil {
		return true // client went away
	}
	if len(body) > maxAsyncBody {
		http.Error(w, "activator: async request body over 1 MiB", http.StatusRequestEntityTooLarge)
		return true
	}
	h := r.Header.Clone()
	for _, k := range hopByHop {
		h.Del(k)
	}
	tp, hasTP := tracectx.Parse(r.Header.Get("traceparent"))
	span := tracectx.NewID(8)
	reparented := tracectx.Reparent(h, span)
	id := tracectx.NewID(8)
	h.Set("X-Difftrace-Async-Id", id)

	u := *target
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	out, err := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, "activator: "+err.Error(), http.StatusBadRequest)
		return true
	}
	out.Header, out.Host = h, r.Host
	rec := asyncRecord{AsyncID: id, TraceID: tracectx.TraceID(r.Header), Function: strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0],
		Path: r.URL.Path, AcceptedNs: time.Now().UnixNano()}
	if reparented {
		rec.ParentSpanID = span
	}
	// A place in the queue first, so that the 202 is a promise kept.
	if a.queued.Add(1) > int64(cap(a.jobs)) {
		a.queued.Add(-1)
		w.Header().Set("X-Difftrace-Overload", "activator")
		http.Error(w, "activator: async queue full", http.StatusServiceUnavailable)
		return true
	}
	a.pending.Add(1)
	if hasTP {
		w.Header().Set("traceresponse", "00-"+tp.TraceID+"-"+span+"-"+tp.Flags)
	}
	reply := fmt.Sprintf("{\"async_id\":%q,\"trace_id\":%q}\n", id, rec.TraceID)
	w.Header().Set("X-Difftrace-Async-Id", id)
	w.Header().Set("Content-Type", "application/json")
	// With its length known the 202 is whole when flushed (not chunked, with its last
	// chunk written only when the handler returns).
	w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, reply)
	// The 202 is on its way before the invocation can start: the async edge.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.jobs <- &asyncJob{req: out, rec: rec} // never blocks: its place was taken above
	return true
}

func (a *asyncRunner) work() {
	for j := range a.jobs {
		a.queued.Add(-1)
		j.rec.StartNs = time.Now().UnixNano()
		resp, err := a.client.Do(j.req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			j.rec.Status = resp.StatusCode
		}
		if err != nil {
			j.rec.Error = proxy.Classify(err)
			log.Printf("activator: async %s to %s: %v", j.rec.AsyncID, j.req.URL, err)
		}
		j.rec.EndNs = time.Now().UnixNano()
		a.pending.Add(-1)
		a.record(j.rec)
	}
}

func (a *asyncRunner) record(rec asyncRecord) {
	if a.logFile == nil {
		return
	}
	line, _ := json.Marshal(rec)
	a.logMu.Lock()
	defer a.logMu.Unlock()
	a.logFile.Write(append(line, '\n'))
}

// stop runs at shutdown; deferred runs still queued are lost, as in a crashed activator.
func (a *asyncRunner) stop() {
	if n := a.pending.Load(); n > 0 {
		log.Printf("activator: stopping with %d async requests not yet run", n)
	}
}
