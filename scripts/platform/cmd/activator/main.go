// activator is the demo platform's Knative-style activator: the hop between the ingress and
// each function's queue-proxy. It routes by the first path segment (/fn-hello/... goes to
// fn-hello's queue-proxy), throttles each function to a capacity with a bounded queue (like
// Knative's per-revision throttler), injects platform anomalies on request, and accepts
// asynchronous invocations (Prefer: respond-async) with 202, running them later.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"difftrace/platform/internal/breaker"
	"difftrace/platform/internal/proxy"
	"difftrace/platform/internal/serve"
)

// routes is a repeatable -route fn=host:port flag.
type routes map[string]*url.URL

func (r routes) String() string { return fmt.Sprint(map[string]*url.URL(r)) }

func (r routes) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want function=host:port, got %q", v)
	}
	r[name] = &url.URL{Scheme: "http", Host: addr}
	return nil
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	rs := routes{}
	listen := flag.String("listen", "127.0.0.1:8081", "address to serve on")
	flag.Var(rs, "route", "function=host:port of its queue-proxy (repeatable)")
	capacity := flag.Int("capacity", 256, "requests in flight per function")
	queue := flag.Int("queue", 4096, "requests waiting per function before 503")
	workers := flag.Int("async-workers", 8, "concurrent deferred (async) runs")
	asyncQueue := flag.Int("async-queue", 10000, "accepted async requests waiting to run before 503")
	asyncLog := flag.String("async-log", "", "JSON-lines file with one record per deferred run")
	flag.Parse()
	if len(rs) == 0 {
		log.Fatal("activator: no -route given; want at least one function=host:port")
	}

	breakers := map[string]*breaker.Breaker{}
	names := make([]string, 0, len(rs))
	for name := range rs {
		breakers[name] = breaker.New(*capacity, *queue)
		names = append(names, name)
	}
	sort.Strings(names)
	route := func(r *http.Request) (*url.URL, *breaker.Breaker, error) {
		fn := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
		if t, ok := rs[fn]; ok {
			return t, breakers[fn], nil
		}
		// A gRPC path names the service and method (/demo.Echo/Unary), not the function:
		// the authority does, as Knative routes by host.
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if t, ok := rs[host]; ok {
			return t, breakers[host], nil
		}
		return nil, nil, fmt.Errorf("no function %q (path must start with one of /%s/, or the authority name it)", fn, strings.Join(names, "/, /"))
	}

	async, err := newAsyncRunner(*workers, *asyncQueue, *asyncLog, *capacity)
	if err != nil {
		log.Fatal(err)
	}
	srv := proxy.New("activator", route, async.handoff, breakers, *capacity, false)
	if err := serve.Run("activator", *listen, srv, async.stop); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
