// Package inject parses X-Difftrace-Inject, the request header that tells one hop of the demo
// platform to misbehave on this request. Ground truth is exact because the load generator
// writes the same header it records.
//
// Syntax: "hop=kind[:amount]" entries separated by commas, e.g.
//
//	X-Difftrace-Inject: activator=stall:200ms, fn-work=slow:150ms
//
// The hop is a process name (comm), because the tracer names services after comm.
// An entry fires once per request, at the first process of that name on the path: a hop that
// acts appends its name to X-Difftrace-Injected, and later processes with the same name (the
// second activator of a chained call, say) see that and pass. Both headers are forwarded.
package inject

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header carries the requested anomalies; DoneHeader lists the hops that already acted.
const (
	Header     = "X-Difftrace-Inject"
	DoneHeader = "X-Difftrace-Injected"
)

// Kinds. Platform hops (haproxy, activator, queue-proxy) know stall, queue and 503;
// functions know slow, 500 and reset.
const (
	Stall       = "stall" // sleep while holding a concurrency slot
	Queue       = "queue" // wait in the pending queue before taking a slot
	Unavailable = "503"   // answer 503 without forwarding
	Slow        = "slow"  // function sleeps before doing its work
	Fail        = "500"   // function answers 500
	Reset       = "reset" // function resets the connection (RST) instead of answering
)

// Anomaly is one parsed entry.
type Anomaly struct {
	Hop    string
	Kind   string
	Amount time.Duration // zero for kinds without an amount
}

// String formats the entry the way Parse reads it.
func (a Anomaly) String() string {
	if a.Amount > 0 {
		return fmt.Sprintf("%s=%s:%dms", a.Hop, a.Kind, a.Amount.Milliseconds())
	}
	return a.Hop + "=" + a.Kind
}

// NeedsAmount tells whether a kind takes a duration.
func NeedsAmount(kind string) bool {
	return kind == Stall || kind == Queue || kind == Slow
}

// Terminal tells whether a kind ends the request at its hop (nothing behind it is called).
func Terminal(kind string) bool {
	return kind == Unavailable || kind == Fail || kind == Reset
}

// Parse reads a header value. Amounts are Go durations ("150ms", "1s") or bare milliseconds.
func Parse(v string) ([]Anomaly, error) {
	var out []Anomaly
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := parseEntry(part)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseEntry(s string) (Anomaly, error) {
	hop, spec, ok := strings.Cut(s, "=")
	if !ok || hop == "" || spec == "" {
		return Anomaly{}, fmt.Errorf("entry %q: want hop=kind[:amount]", s)
	}
	kind, amount, hasAmount := strings.Cut(spec, ":")
	a := Anomaly{Hop: strings.TrimSpace(hop), Kind: strings.TrimSpace(kind)}
	switch a.Kind {
	case Stall, Queue, Unavailable, Slow, Fail, Reset:
	default:
		return Anomaly{}, fmt.Errorf("entry %q: unknown kind %q (want stall, queue, 503, slow, 500 or reset)", s, a.Kind)
	}
	if NeedsAmount(a.Kind) != hasAmount {
		if hasAmount {
			return Anomaly{}, fmt.Errorf("entry %q: kind %s takes no amount", s, a.Kind)
		}
		return Anomaly{}, fmt.Errorf("entry %q: kind %s needs an amount, e.g. %s:150ms", s, a.Kind, a.Kind)
	}
	if hasAmount {
		d, err := parseAmount(strings.TrimSpace(amount))
		if err != nil {
			return Anomaly{}, fmt.Errorf("entry %q: %v", s, err)
		}
		a.Amount = d
	}
	return a, nil
}

func parseAmount(s string) (time.Duration, error) {
	if ms, err := strconv.Atoi(s); err == nil {
		s = strconv.Itoa(ms) + "ms"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > time.Minute {
		return 0, fmt.Errorf("amount %q: want a duration between 1ms and 1m", s)
	}
	return d, nil
}

// For returns the entry addressed to hop, unless a process of that name already acted on
// this request. allowed lists the kinds this hop implements; any other kind is an error,
// so a typo in a load spec fails loudly instead of silently corrupting ground truth.
func For(h http.Header, hop string, allowed ...string) (Anomaly, bool, error) {
	values := h.Values(Header)
	if len(values) == 0 {
		return Anomaly{}, false, nil
	}
	all, err := Parse(strings.Join(values, ","))
	if err != nil {
		return Anomaly{}, false, fmt.Errorf("%s: %v", Header, err)
	}
	for _, a := range all {
		if a.Hop != hop {
			continue
		}
		if done(h, hop) {
			return Anomaly{}, false, nil
		}
		for _, k := range allowed {
			if a.Kind == k {
				return a, true, nil
			}
		}
		return Anomaly{}, false, fmt.Errorf("%s: hop %s does not implement kind %s (it knows %s)",
			Header, hop, a.Kind, strings.Join(allowed, ", "))
	}
	return Anomaly{}, false, nil
}

func done(h http.Header, hop string) bool {
	for _, v := range h.Values(DoneHeader) {
		for _, name := range strings.Split(v, ",") {
			if strings.TrimSpace(name) == hop {
				return true
			}
		}
	}
	return false
}

// MarkDone records that hop acted, so same-named processes further down the path pass.
func MarkDone(h http.Header, hop string) {
	h.Add(DoneHeader, hop)
}
