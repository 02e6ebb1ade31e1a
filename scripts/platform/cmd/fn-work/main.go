// fn-work is a Go user function with two endpoints: /fn-work/cpu (a SHA-256 chain, ?iters=N,
// default 300, a few ms) and /fn-work/mem (allocates and fills ?mb=N MiB, default 24, the
// memory-heavy one). Its comm is its binary name, fn-work.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"path"
	"strconv"
	"time"

	"difftrace/platform/internal/fnserver"
	"difftrace/platform/internal/serve"
)

func intParam(r *http.Request, name string, def, max int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil && v >= 0 && v <= max {
		return v
	}
	return def
}

func work(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	switch path.Base(r.URL.Path) {
	case "mem":
		mb := intParam(r, "mb", 24, 512)
		sum := fnserver.Churn(mb)
		fnserver.Reply(w, r, "fn-work", map[string]any{"op": "mem", "mb": mb, "crc32": sum, "took_ms": time.Since(start).Milliseconds()})
	default:
		iters := intParam(r, "iters", 300, 1_000_000)
		sum := fnserver.HashChain(iters)
		fnserver.Reply(w, r, "fn-work", map[string]any{"op": "cpu", "iters": iters, "sha256": sum[:4], "took_ms": time.Since(start).Milliseconds()})
	}
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	listen := flag.String("listen", "127.0.0.1:9002", "address to serve on")
	flag.Parse()
	if err := serve.Run("fn-work", *listen, fnserver.Wrap("fn-work", work), nil); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
