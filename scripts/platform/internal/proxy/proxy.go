// Package proxy is the request path shared by the activator and the queue-proxy: apply this
// hop's injected anomaly, pass the concurrency breaker, and reverse-proxy to the upstream
// over keep-alive connections. Trace headers (traceparent, tracestate, b3, X-B3-*) are
// forwarded untouched, as every non-hop-by-hop header is. A request that came over HTTP/2
// (gRPC) goes upstream over cleartext HTTP/2 (h2c), streamed both ways, trailers (grpc-status)
// passed through; a hop that answers it itself answers in gRPC's form (see Fail).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"difftrace/platform/internal/breaker"
	"difftrace/platform/internal/inject"
	"difftrace/platform/internal/tracectx"
)

// Route picks the upstream and the breaker that guards it.
type Route func(r *http.Request) (target *url.URL, b *breaker.Breaker, err error)

// Handoff may take over an admitted request instead of proxying it (the activator's async
// path); it returns false to let the request be proxied.
type Handoff func(w http.ResponseWriter, r *http.Request, target *url.URL) bool

// Server is an http.Handler.
type Server struct {
	hop      string
	route    Route
	handoff  Handoff
	breakers map[string]*breaker.Breaker // for /metrics only
	rp       *httputil.ReverseProxy      // HTTP/1.1 upstream
	rp2      *httputil.ReverseProxy      // h2c upstream, for requests that came over HTTP/2

	requests atomic.Int64
	mu       sync.Mutex
	counts   map[string]int64 // injected:<kind>, overload, upstream:<error>
}

type targetKey struct{}

// New builds a proxy for hop (its comm name). upstreamConns is how many idle keep-alive
// connections to keep per upstream: it should match the breaker capacity, or connections
// churn under load (Go's default is 2). noRetry is for proxies in front of a function
// (see NoRetry); between proxies, Go's retry of a request that met a keep-alive connection
// the other side had just closed is wanted.
func New(hop string, route Route, handoff Handoff, breakers map[string]*breaker.Breaker, upstreamConns int, noRetry bool) *Server {
	s := &Server{hop: hop, route: route, handoff: handoff, breakers: breakers, counts: map[string]int64{}}
	director := func(out *http.Request) {
		t := out.Context().Value(targetKey{}).(*url.URL)
		out.URL.Scheme, out.URL.Host = t.Scheme, t.Host
		if noRetry {
			NoRetry(out)
		}
	}
	s.rp = &httputil.ReverseProxy{Director: director, Transport: NewTransport(upstreamConns), ErrorHandler: s.upstreamError}
	// FlushInterval -1: every message of a streaming RPC goes on at once.
	s.rp2 = &httputil.ReverseProxy{Director: director, Transport: NewH2CTransport(), ErrorHandler: s.upstreamError,
		FlushInterval: -1}
	return s
}

// NoRetry makes req non-replayable for http.Transport. Go retries an idempotent request
// that failed on a reused keep-alive connection, on the next pooled connection, for as long
// as those fail too; with an injected reset every attempt is reset again (we saw 7 resets
// per injected one), which would smear ground truth and burn the pool. A bodiless request
// gets an empty body without GetBody: the transport probes it, finds it empty and sends no
// body, but no longer retries. (If the probe goroutine is starved for 200 ms the transport
// sends an empty chunked body instead; the functions accept that.)
func NoRetry(req *http.Request) {
	req.GetBody = nil
	if req.Body == nil || req.Body == http.NoBody {
		req.Body, req.ContentLength = io.NopCloser(strings.NewReader("")), 0
	}
}

// NewTransport is the keep-alive client transport every platform hop uses upstream.
func NewTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
	}
}

func (s *Server) count(key string) {
	s.mu.Lock()
	s.counts[key]++
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		fmt.Fprintf(w, "ok %s\n", s.hop)
		return
	case "/metrics":
		s.metrics(w)
		return
	}
	s.requests.Add(1)
	target, br, err := s.route(r)
	if err != nil {
		Fail(w, r, fmt.Sprintf("%s: %v", s.hop, err), http.StatusNotFound)
		return
	}
	a, injected, err := inject.For(r.Header, s.hop, inject.Stall, inject.Queue, inject.Unavailable)
	if err != nil {
		Fail(w, r, fmt.Sprintf("%s: %v", s.hop, err), http.StatusBadRequest)
		return
	}
	if injected {
		inject.MarkDone(r.Header, s.hop)
		s.count("injected:" + a.Kind)
		log.Printf("%s: injecting %s (trace %s)", s.hop, a, tracectx.TraceID(r.Header))
	}
	ctx := r.Context()
	if injected && a.Kind == inject.Unavailable {
		Fail(w, r, "difftrace: injected 503 at "+s.hop, http.StatusServiceUnavailable)
		return
	}
	if injected && a.Kind == inject.Queue {
		if err := br.Hold(ctx, a.Amount); err != nil {
			s.refuse(w, r, err)
			return
		}
	}
	release, err := br.Acquire(ctx)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	defer release()
	if injected && a.Kind == inject.Stall {
		if !sleep(ctx, a.Amount) {
			return
		}
	}
	if s.handoff != nil && s.handoff(w, r, target) {
		return
	}
	rp := s.rp
	if r.ProtoMajor == 2 && IsGRPC(r.Header) {
		rp = s.rp2 // gRPC: HTTP/2 all the way to the function; anything else goes on in HTTP/1.1
	}
	rp.ServeHTTP(w, r.WithContext(context.WithValue(ctx, targetKey{}, target)))
}

// refuse answers a request the breaker would not take.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, breaker.ErrOverload) {
		s.count("overload")
		w.Header().Set("X-Difftrace-Overload", s.hop)
		Fail(w, r, fmt.Sprintf("%s: %v", s.hop, err), http.StatusServiceUnavailable)
	}
	// Otherwise the client went away while waiting: nobody to answer.
}

func (s *Server) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // client gave up; not the upstream's fault
	}
	kind := Classify(err)
	s.count("upstream:" + kind)
	log.Printf("%s: upstream %s: %s (%v, trace %s)", s.hop, r.URL.Host, kind, err, tracectx.TraceID(r.Header))
	w.Header().Set("X-Difftrace-Upstream-Error", kind)
	status := http.StatusBadGateway
	if kind == "timeout" {
		status = http.StatusGatewayTimeout
	}
	Fail(w, r, fmt.Sprintf("%s: upstream %s", s.hop, kind), status)
}

func (s *Server) metrics(w http.ResponseWriter) {
	fmt.Fprintf(w, "requests_total %d\n", s.requests.Load())
	names := make([]string, 0, len(s.breakers))
	for n := range s.breakers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := s.breakers[n]
		fmt.Fprintf(w, "inflight{upstream=%q} %d\nqueued{upstream=%q} %d\n", n, b.InFlight(), n, b.Queued())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "events_total{event=%q} %d\n", k, s.counts[k])
	}
}

// sleep waits d or until ctx ends; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
