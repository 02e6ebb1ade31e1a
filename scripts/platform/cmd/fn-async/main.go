// fn-async is the Go user function the platform invokes asynchronously: a thumbnail-style
// job that waits on "storage" (sleep ?fetch_ms=N, default 20), decodes into a 4 MiB buffer
// and hashes the result. Clients call it with Prefer: respond-async; the activator answers
// 202 and runs it later with the same trace id.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"difftrace/platform/internal/fnserver"
	"difftrace/platform/internal/serve"
)

func work(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	fetch := 20
	if v, err := strconv.Atoi(r.URL.Query().Get("fetch_ms")); err == nil && v >= 0 && v <= 10_000 {
		fetch = v
	}
	time.Sleep(time.Duration(fetch) * time.Millisecond) // the blob read: I/O wait, no CPU
	crc := fnserver.Churn(4)
	sum := fnserver.HashChain(50)
	fnserver.Reply(w, r, "fn-async", map[string]any{"crc32": crc, "sha256": sum[:4],
		"async_id": r.Header.Get("X-Difftrace-Async-Id"), "took_ms": time.Since(start).Milliseconds()})
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	listen := flag.String("listen", "127.0.0.1:9004", "address to serve on")
	flag.Parse()
	if err := serve.Run("fn-async", *listen, fnserver.Wrap("fn-async", work), nil); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
