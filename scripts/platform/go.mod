module difftrace/platform

go 1.19

require golang.org/x/net v0.7.0

require golang.org/x/text v0.7.0 // indirect

// Offline, from Debian's Go module sources (golang-golang-x-net-dev and its dependency
// golang-golang-x-text-dev): GOPROXY=off, nothing is downloaded.
replace (
	golang.org/x/net => /usr/share/gocode/src/golang.org/x/net
	golang.org/x/text => /usr/share/gocode/src/golang.org/x/text
)
