// Package tracectx reads and writes W3C traceparent and B3 headers. The platform forwards
// them unchanged; only the activator's async path writes new ones (see docs/platform.md).
package tracectx

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// TraceParent is a parsed W3C traceparent: version 00 only.
type TraceParent struct {
	TraceID  string // 32 lowercase hex
	ParentID string // 16 lowercase hex
	Flags    string // 2 hex
}

// String formats the header value.
func (t TraceParent) String() string {
	return "00-" + t.TraceID + "-" + t.ParentID + "-" + t.Flags
}

// Parse reads a traceparent value; ok is false for anything malformed or all-zero.
func Parse(v string) (TraceParent, bool) {
	p := strings.Split(strings.TrimSpace(v), "-")
	if len(p) != 4 || p[0] != "00" || !isHex(p[1], 32) || !isHex(p[2], 16) || !isHex(p[3], 2) {
		return TraceParent{}, false
	}
	if strings.Trim(p[1], "0") == "" || strings.Trim(p[2], "0") == "" {
		return TraceParent{}, false
	}
	return TraceParent{TraceID: p[1], ParentID: p[2], Flags: p[3]}, true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewID returns n random bytes as lowercase hex (8 for a span id, 16 for a trace id).
func NewID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	if b[0] == 0 { // never all zero, which W3C forbids
		b[0] = 1
	}
	return hex.EncodeToString(b)
}

// TraceID returns the request's trace id from traceparent or B3, or "".
func TraceID(h http.Header) string {
	if tp, ok := Parse(h.Get("traceparent")); ok {
		return tp.TraceID
	}
	if b3 := h.Get("b3"); b3 != "" {
		return strings.SplitN(b3, "-", 2)[0]
	}
	return h.Get("X-B3-TraceId")
}

// Reparent rewrites the trace headers of an outgoing request so that its parent span is
// parent (a span id the caller made up for itself), keeping trace id and sampling.
// Requests without trace headers stay without them. It reports whether it rewrote anything.
func Reparent(h http.Header, parent string) bool {
	changed := false
	if tp, ok := Parse(h.Get("traceparent")); ok {
		tp.ParentID = parent
		h.Set("traceparent", tp.String())
		changed = true
	}
	// In B3 the span id names the span this request starts and ParentSpanId its parent.
	if b3 := h.Get("b3"); b3 != "" {
		p := strings.Split(b3, "-")
		if len(p) >= 2 {
			sampled := "1"
			if len(p) >= 3 {
				sampled = p[2]
			}
			h.Set("b3", p[0]+"-"+NewID(8)+"-"+sampled+"-"+parent)
			changed = true
		}
	}
	if h.Get("X-B3-TraceId") != "" {
		h.Set("X-B3-ParentSpanId", parent)
		h.Set("X-B3-SpanId", NewID(8))
		changed = true
	}
	return changed
}
