package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"difftrace/platform/internal/breaker"
	"difftrace/platform/internal/inject"
)

// A gRPC call through the proxy over h2c both ways: it arrives upstream as HTTP/2 with its
// trace header, the upstream's trailers (grpc-status) come back, and an injected 503 is
// answered in gRPC's form (HTTP 200, grpc-status 14, no body).
func TestGRPCOverH2CPassesTrailersAndAnswersErrorsInGRPCForm(t *testing.T) {
	up := httptest.NewServer(h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("traceparent") == "" {
			t.Errorf("upstream got HTTP/%d, traceparent %q", r.ProtoMajor, r.Header.Get("traceparent"))
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write([]byte{0, 0, 0, 0, 2, 'o', 'k'})
		w.Header().Set("Grpc-Status", "5")
	}), &http2.Server{}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	b := breaker.New(4, 4)
	route := func(*http.Request) (*url.URL, *breaker.Breaker, error) { return target, b, nil }
	p := httptest.NewServer(h2c.NewHandler(New("queue-proxy", route, nil, nil, 4, true), &http2.Server{}))
	defer p.Close()
	client := &http.Client{Transport: NewH2CTransport()}

	call := func(inj string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/demo.Echo/Unary", strings.NewReader("\x00\x00\x00\x00\x00"))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		if inj != "" {
			req.Header.Set(inject.Header, inj)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, body
	}
	resp, body := call("")
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || len(body) != 7 || resp.Trailer.Get("Grpc-Status") != "5" {
		t.Errorf("proxied call: HTTP/%d %d, %d bytes, trailers %v", resp.ProtoMajor, resp.StatusCode, len(body), resp.Trailer)
	}
	resp, body = call("queue-proxy=503")
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Grpc-Status") != "14" ||
		!strings.Contains(resp.Header.Get("Grpc-Message"), "injected 503") {
		t.Errorf("injected 503: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
}
