// queue-proxy is the demo platform's Knative-style sidecar: one process per function, in
// front of it on the same host. It enforces the function's concurrency (Knative's
// containerConcurrency) with a bounded queue, injects platform anomalies on request, and
// proxies to the function over keep-alive connections.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/url"
	"os"

	"difftrace/platform/internal/breaker"
	"difftrace/platform/internal/proxy"
	"difftrace/platform/internal/serve"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	listen := flag.String("listen", "127.0.0.1:8101", "address to serve on")
	upstream := flag.String("upstream", "", "host:port of the function (user container)")
	function := flag.String("function", "", "function name, for logs and metrics")
	concurrency := flag.Int("concurrency", 32, "requests in flight to the function (containerConcurrency)")
	queue := flag.Int("queue", 1024, "requests waiting before 503 (queue depth)")
	flag.Parse()
	if *upstream == "" || *function == "" {
		log.Fatal("queue-proxy: -upstream and -function are required")
	}
	target := &url.URL{Scheme: "http", Host: *upstream}
	b := breaker.New(*concurrency, *queue)
	route := func(*http.Request) (*url.URL, *breaker.Breaker, error) { return target, b, nil }
	// noRetry: the upstream is the function, and an injected reset must happen once.
	srv := proxy.New("queue-proxy", route, nil, map[string]*breaker.Breaker{*function: b}, *concurrency, true)
	if err := serve.Run("queue-proxy["+*function+"]", *listen, srv, nil); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
