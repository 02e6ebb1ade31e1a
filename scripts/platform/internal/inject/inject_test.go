package inject

import (
	"net/http"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	got, err := Parse("activator=stall:200ms, fn-work=slow:150 ,queue-proxy=503,fn-hello=reset")
	if err != nil {
		t.Fatal(err)
	}
	want := []Anomaly{
		{"activator", Stall, 200 * time.Millisecond},
		{"fn-work", Slow, 150 * time.Millisecond},
		{"queue-proxy", Unavailable, 0},
		{"fn-hello", Reset, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v want %+v", i, got[i], want[i])
		}
	}
	if s := want[0].String(); s != "activator=stall:200ms" {
		t.Errorf("String: %q", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"activator", "activator=nap:1ms", "activator=stall", "fn-x=500:3ms", "a=slow:-1ms", "=503"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestForActsOncePerHopName(t *testing.T) {
	h := http.Header{}
	h.Set(Header, "activator=stall:5ms,fn-hello=500")
	a, ok, err := For(h, "activator", Stall, Queue, Unavailable)
	if err != nil || !ok || a.Amount != 5*time.Millisecond {
		t.Fatalf("first activator: %+v %v %v", a, ok, err)
	}
	MarkDone(h, "activator")
	if _, ok, _ := For(h, "activator", Stall); ok {
		t.Fatal("second activator on the path must pass")
	}
	if _, ok, _ := For(h, "queue-proxy", Stall); ok {
		t.Fatal("queue-proxy has no entry")
	}
	if _, _, err := For(h, "fn-hello", Slow); err == nil {
		t.Fatal("unsupported kind must be an error")
	}
}
