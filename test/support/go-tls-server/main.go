// An HTTPS server on 127.0.0.1 from Go's crypto/tls, limited to the key-exchange
// groups given, for the tests and the benchmark: Go offers X25519MLKEM768 on its
// own, unlike Node 20's OpenSSL 3.0. Started by ../go-tls-server.ts, which gives
// the certificate chain and key as PEM in CERT_PEM and KEY_PEM, the groups
// as arguments, NO_TICKETS=1 for no session resumption, and H2=1 to offer h2
// (net/http's own HTTP/2 server) before http/1.1. Every response names the
// HTTP version of its request in x-http-version. It prints its port, answers every request with the group and
// protocol its connection negotiated, and exits when its stdin closes.
// Requests with `?tag=T` are counted per tag as the benchmark's Node server
// counts them; GET /counters answers those counters as JSON.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

// What the benchmark reads of one tag: the connections that carried a request with it (and how many of them
// were h2), its requests, its connections still open and the most that were open at once.
type counter struct {
	Connections int `json:"connections"`
	H2          int `json:"h2"`
	Requests    int `json:"requests"`
	Open        int `json:"open"`
	MaxOpen     int `json:"maxOpen"`
	Resumed     int `json:"resumed"`
}

// A connection's tags; one is made per connection (ConnContext) and found again from each request's context.
type connection struct{ tags map[string]bool }

type connectionKey struct{}

var (
	mutex       sync.Mutex
	counters    = map[string]*counter{}
	connections sync.Map // net.Conn -> *connection
)

// Counts the request, and its connection the first time the connection carries the tag.
func count(r *http.Request) {
	tag := r.URL.Query().Get("tag")
	seen, _ := r.Context().Value(connectionKey{}).(*connection)
	if tag == "" || seen == nil {
		return
	}
	mutex.Lock()
	defer mutex.Unlock()
	c := counters[tag]
	if c == nil {
		c = &counter{}
		counters[tag] = c
	}
	c.Requests++
	if !seen.tags[tag] {
		seen.tags[tag] = true
		c.Connections++
		if r.ProtoMajor == 2 {
			c.H2++
		}
		if r.TLS.DidResume {
			c.Resumed++
		}
		c.Open++
		c.MaxOpen = max(c.MaxOpen, c.Open)
	}
}

// A closed connection is no longer open for any of its tags.
func closed(conn net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	value, found := connections.LoadAndDelete(conn)
	if !found {
		return
	}
	mutex.Lock()
	defer mutex.Unlock()
	for tag := range value.(*connection).tags {
		counters[tag].Open--
	}
}

// The groups by the names pinned-fetch reports them with.
var groups = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"X25519":         tls.X25519,
	"secp256r1":      tls.CurveP256,
	"secp384r1":      tls.CurveP384,
}

func nameOf(id tls.CurveID) string {
	for name, known := range groups {
		if known == id {
			return name
		}
	}
	return id.String()
}

func main() {
	cert, err := tls.X509KeyPair([]byte(os.Getenv("CERT_PEM")), []byte(os.Getenv("KEY_PEM")))
	if err != nil {
		fail(err)
	}
	config := &tls.Config{
		Certificates:           []tls.Certificate{cert},
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: os.Getenv("NO_TICKETS") == "1",
	}
	if os.Getenv("H2") == "1" {
		config.NextProtos = []string{"h2", "http/1.1"}
	}
	for _, name := range os.Args[1:] {
		id, known := groups[name]
		if !known {
			fail(fmt.Errorf("unknown group %q", name))
		}
		config.CurvePreferences = append(config.CurvePreferences, id)
	}
	listener, err := tls.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		fail(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	// Handshakes the tests make fail on purpose are not worth a line of output.
	server := &http.Server{
		Handler:  http.HandlerFunc(answer),
		ErrorLog: log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, conn net.Conn) context.Context {
			seen := &connection{tags: map[string]bool{}}
			connections.Store(conn, seen)
			return context.WithValue(ctx, connectionKey{}, seen)
		},
		ConnState: closed,
	}
	if os.Getenv("H2") == "1" {
		// net/http's Serve speaks HTTP/2 on each *tls.Conn that negotiated h2.
		server.Protocols = new(http.Protocols)
		server.Protocols.SetHTTP1(true)
		server.Protocols.SetHTTP2(true)
	}
	fail(server.Serve(listener))
}

// GET /bytes/N answers N bytes (the benchmark's response); /counters the counters; anything else the connection's TLS parameters as JSON.
func answer(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/counters" {
		mutex.Lock()
		defer mutex.Unlock()
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(counters)
		return
	}
	count(r)
	w.Header().Set("x-key-exchange", nameOf(r.TLS.CurveID))
	w.Header().Set("x-http-version", r.Proto)
	if size, found := strings.CutPrefix(r.URL.Path, "/bytes/"); found {
		n, err := strconv.Atoi(size)
		if err != nil || n < 0 || n > 1<<26 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		w.Header().Set("content-length", strconv.Itoa(n))
		w.Write(make([]byte, n))
		return
	}
	w.Header().Set("content-type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"keyExchange": nameOf(r.TLS.CurveID),
		"protocol":    map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[r.TLS.Version],
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-tls-server:", err)
	os.Exit(1)
}
