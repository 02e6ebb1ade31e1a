package tracectx

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseAndReparent(t *testing.T) {
	const v = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tp, ok := Parse(v)
	if !ok || tp.String() != v {
		t.Fatalf("round trip: %+v %v", tp, ok)
	}
	for _, bad := range []string{"", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01", "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"} {
		if _, ok := Parse(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
	h := http.Header{}
	h.Set("traceparent", v)
	h.Set("b3", "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1")
	if !Reparent(h, "1111111111111111") {
		t.Fatal("nothing rewritten")
	}
	if got := h.Get("traceparent"); got != "00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01" {
		t.Errorf("traceparent %s", got)
	}
	if got := h.Get("b3"); !strings.HasPrefix(got, "0af7651916cd43dd8448eb211c80319c-") || !strings.HasSuffix(got, "-1-1111111111111111") {
		t.Errorf("b3 %s", got)
	}
	if TraceID(h) != "0af7651916cd43dd8448eb211c80319c" {
		t.Error("TraceID")
	}
	if Reparent(http.Header{}, "1111111111111111") {
		t.Error("no headers must stay no headers")
	}
}
