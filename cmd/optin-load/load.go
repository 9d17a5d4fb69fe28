package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one request, so that a run ends at most this long
// after its duration even if the server stops answering.
const requestTimeout = 10 * time.Second

// Load is one run: N requests at most, C at a time, issued for Duration at
// most. Requests still in flight when Duration ends are allowed to finish.
type Load struct {
	N        int
	C        int
	Duration time.Duration
	// NewRequest builds request i (0 ≤ i < N).
	NewRequest func(ctx context.Context, i int) (*http.Request, error)
	// Verify, if set, returns an error class for a 2xx answer whose body is
	// not what the run expects, or "" when it is.
	Verify func(body []byte) string
	// Status, if set, is the one status that counts as OK (a form post
	// answers 303); by default any 2xx does.
	Status int
}

// Result is what one run measured.
type Result struct {
	Name        string
	Sent        int            // requests issued
	OK          int            // 2xx answers that passed Verify
	Errors      map[string]int // by HTTP status or by transport failure
	Elapsed     time.Duration  // from the first request to the last answer
	Latency     Stats          // of the OK answers, until the body was read
	Interrupted bool           // the parent context ended the run early
}

// Throughput is OK answers per second of wall time.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ErrorCount is the number of requests that were not OK.
func (r Result) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Stats summarises a set of latencies.
type Stats struct {
	Count                    int
	Mean, P50, P90, P99, Max time.Duration
}

// newStats sorts d in place and summarises it.
func newStats(d []time.Duration) Stats {
	if len(d) == 0 {
		return Stats{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Stats{
		Count: len(d),
		Mean:  sum / time.Duration(len(d)),
		P50:   percentile(d, 50),
		P90:   percentile(d, 90),
		P99:   percentile(d, 99),
		Max:   d[len(d)-1],
	}
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// that at least p % of the values are less than or equal to.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}

// Run performs the load and waits for it to end. Cancelling ctx (Ctrl-C)
// stops it at once; the end of l.Duration only stops new requests.
func (l Load) Run(ctx context.Context, client *http.Client) Result {
	n := max(l.N, 0)
	// One slot per request, written by the worker that owns index i, so no
	// lock is needed; -1 marks a request that sent nothing worth timing.
	lat := make([]time.Duration, n)
	for i := range lat {
		lat[i] = -1
	}
	issue, stop := context.WithTimeout(ctx, l.Duration)
	defer stop()

	var next atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	sent, ok := 0, 0
	var wg sync.WaitGroup
	start := time.Now()
	for range min(max(l.C, 1), max(n, 1)) {
		wg.Go(func() {
			myErrs := map[string]int{}
			mySent, myOK := 0, 0
			var buf bytes.Buffer
			for issue.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				mySent++
				t0 := time.Now()
				class := l.do(ctx, client, i, &buf)
				if class != "" {
					myErrs[class]++
					continue
				}
				lat[i] = time.Since(t0)
				myOK++
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range myErrs {
				errs[k] += v
			}
			sent += mySent
			ok += myOK
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	kept := lat[:0]
	for _, d := range lat {
		if d >= 0 {
			kept = append(kept, d)
		}
	}
	return Result{
		Sent:        sent,
		OK:          ok,
		Errors:      errs,
		Elapsed:     elapsed,
		Latency:     newStats(kept),
		Interrupted: ctx.Err() != nil,
	}
}

// do sends request i and reads its whole answer (so the connection is
// reused). It returns "" for a good answer, else the error class.
func (l Load) do(ctx context.Context, client *http.Client, i int, buf *bytes.Buffer) string {
	req, err := l.NewRequest(ctx, i)
	if err != nil {
		return "bad request"
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportClass(ctx, err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if l.Status != 0 && resp.StatusCode != l.Status ||
		l.Status == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return strconv.Itoa(resp.StatusCode)
	}
	if err != nil {
		return transportClass(ctx, err)
	}
	if l.Verify != nil {
		return l.Verify(buf.Bytes())
	}
	return ""
}

func transportClass(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		return "canceled"
	case errors.Is(err, errNotLoopback):
		return "refused: not loopback"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "transport"
	}
}

// newClient returns a client for c concurrent requests that reaches
// loopback addresses only, uses no proxy and follows no redirect.
func newClient(c int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil, // never send the load through a proxy elsewhere
			DialContext:         loopbackDial(d),
			MaxIdleConns:        c,
			MaxIdleConnsPerHost: c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// spread maps a host:port to the instances its connections go to in turn
// (--spread): several optin instances on one database measured as one.
var spread struct {
	sync.Mutex
	to   map[string][]string
	next map[string]int
}

// spreadOver sends the connections made to host to host and others in turn.
func spreadOver(host string, others []string) {
	spread.Lock()
	defer spread.Unlock()
	if spread.to == nil {
		spread.to, spread.next = map[string][]string{}, map[string]int{}
	}
	spread.to[host] = append([]string{host}, others...)
}

// spreadAddr returns the address a new connection to addr goes to.
func spreadAddr(addr string) string {
	spread.Lock()
	defer spread.Unlock()
	to := spread.to[addr]
	if len(to) == 0 {
		return addr
	}
	i := spread.next[addr]
	spread.next[addr] = i + 1
	return to[i%len(to)]
}

// errNotLoopback is returned by the dialer for any address that is not a
// loopback address.
var errNotLoopback = errors.New("not a loopback address")

// loopbackDial dials only loopback addresses: a literal IP must be one, and
// "localhost" is resolved here and only its loopback addresses are dialled,
// whatever /etc/hosts says.
func loopbackDial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		addr = spreadAddr(addr)
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip}
		} else if strings.EqualFold(host, "localhost") {
			if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
				return nil, err
			}
		}
		var last error = fmt.Errorf("dial %s: %w", addr, errNotLoopback)
		for _, ip := range ips {
			if !ip.Unmap().IsLoopback() {
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
}

// drain reads and closes a body; used by one-off requests.
func drain(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 1<<16))
}
