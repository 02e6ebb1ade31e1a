// go_http_loop: sequential keep-alive GETs from a Go net/http client against a local Go
// server; prints the microseconds per request (scripts/bench/go_uprobe_cost.sh).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

func main() {
	serve := flag.String("serve", "", "listen address: serve instead of fetching")
	url := flag.String("url", "", "URL to fetch")
	n := flag.Int("n", 2000, "requests")
	flag.Parse()
	if *serve != "" {
		ln, err := net.Listen("tcp", *serve)
		if err != nil {
			panic(err)
		}
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		return
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; i < 200; i++ { // warm up
		r, _ := c.Get(*url)
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	t0 := time.Now()
	for i := 0; i < *n; i++ {
		r, err := c.Get(*url)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	fmt.Printf("%.1f\n", float64(time.Since(t0).Microseconds())/float64(*n))
}
