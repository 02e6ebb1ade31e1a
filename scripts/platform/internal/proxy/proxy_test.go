package proxy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"difftrace/platform/internal/breaker"
	"difftrace/platform/internal/inject"
)

// An upstream that resets every connection must see a proxied GET exactly once, even when
// the proxy has several pooled keep-alive connections to it; and a GET must go out without
// a body (no chunked encoding).
func TestResetIsNotRetriedOnPooledConnections(t *testing.T) {
	var hits, resets atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if len(r.TransferEncoding) > 0 || r.ContentLength != 0 {
			t.Errorf("GET arrived with a body: %v %d", r.TransferEncoding, r.ContentLength)
		}
		if r.Header.Get("X-Reset") != "" {
			resets.Add(1)
			c, _, _ := w.(http.Hijacker).Hijack()
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			return
		}
		w.Write([]byte("ok"))
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	b := breaker.New(8, 8)
	p := New("queue-proxy", func(*http.Request) (*url.URL, *breaker.Breaker, error) { return target, b, nil }, nil, nil, 8, true)
	front := httptest.NewServer(p)
	defer front.Close()

	// Fill the proxy's pool with several idle connections.
	done := make(chan struct{})
	for i := 0; i < 4; i++ {
		go func() { http.Get(front.URL + "/x"); done <- struct{}{} }()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
	req, _ := http.NewRequest("GET", front.URL+"/x", nil)
	req.Header.Set("X-Reset", "1")
	req.Header.Set(inject.Header, "activator=stall:1ms") // another hop's entry: ignored here
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("X-Difftrace-Upstream-Error") != "reset" {
		t.Fatalf("status %d, upstream error %q", resp.StatusCode, resp.Header.Get("X-Difftrace-Upstream-Error"))
	}
	if resets.Load() != 1 {
		t.Fatalf("upstream reset %d times for one request; retries are on", resets.Load())
	}
}
