// Command optin-load measures a running optin over real sockets, against an
// echo server started in the same process as a baseline, and prints both
// with their ratios. It sends load to loopback addresses only.
//
//	optin-load webhook [--url URL] [--secret S] [--n 20000] [--c 32] [--duration 60s]
//	optin-load check --key KEY [--url URL] [--phone P] [--category C] [--n …] [--c …] [--duration …]
//	optin-load suite --secret S --key KEY [--url URL] [--conns 32,64] [--n …] [--duration 5s]
//	optin-load seed --db FILE [--contacts 1000000] [--events 5000000]
//	optin-load csv --db FILE [--rows 200000] [--prefix +49152] [--first 0]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Bounds on the flags: every run ends by itself, and the latency slice
// (8 bytes a request) stays small.
const (
	maxN        = 1_000_000
	maxC        = 1024
	maxDuration = 60 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "optin-load:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  optin-load webhook [--url http://127.0.0.1:8080] [--secret S] [--n 20000] [--c 32] [--duration 60s]
        POST unique Cloud API status webhooks with X-Optin-Secret
  optin-load check --key KEY [--phone +4915100000001] [--category offers] [--url …] [--n …] [--c …] [--duration …]
        GET /api/v1/check with a Bearer key
  optin-load suite --secret S --key KEY [--url …] [--spread host:port,…] [--conns 32,64] [--n 20000] [--duration 5s] [--pause 1s]
        every hot path (webhook intake, check, form post with new numbers, the
        same number posted twice at once) at each concurrency, beside an echo
        server, a naive one-insert-per-request server and a bare group-commit
        server run by this process; start optin with OPTIN_FORM_LIMIT=0
  optin-load seed --db FILE [--contacts 1000000] [--events 5000000] [--batch 20000] [--seed 1]
        fill a new database file with made-up contacts, consents and a valid
        hash chain of events, for measuring at size (no server needed)
  optin-load csv --db FILE [--rows 200000] [--prefix +49152] [--first 0] [--export=true] [--import=true]
        the admin console's CSV paths in this process on FILE: both exports
        (rows/s), then an import of --rows new rows: dry run, then the run,
        with its progress (it writes to FILE: use a copy)

Each command first runs the same load against an echo server in this process
(127.0.0.1, random port), then against optin, then the echo again, and prints
requests/s, p50/p90/p99/max latency and errors by status for each, and the
ratios optin/echo. --baseline=false skips the echo runs.

Only loopback targets are accepted (127.0.0.0/8, ::1, localhost).

Recipe (two shells, or & for the first; the opt-in makes the check answer
opted_in; with the sandbox provider a number ending in 0000 is "not on
WhatsApp" and would answer undeliverable; --data-urlencode keeps the +):
  OPTIN_ADDR=127.0.0.1:8080 OPTIN_DB=/tmp/load.db OPTIN_WEBHOOK_SECRET=s go run ./cmd/optin &
  go run ./cmd/optin-load webhook --secret s
  KEY=$(go run ./cmd/optin apikey create load --db /tmp/load.db)
  curl -s --data-urlencode 'phone=+4915100000001' -d 'category=offers' http://127.0.0.1:8080/optin >/dev/null
  go run ./cmd/optin-load check --key "$KEY"
`)
}

// run is the whole command line, with its environment passed in so that
// tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("missing command")
	}
	switch args[0] {
	case "webhook":
		return webhookCmd(ctx, args[1:], getenv, stdout, stderr)
	case "check":
		return checkCmd(ctx, args[1:], getenv, stdout, stderr)
	case "seed":
		return seedCmd(ctx, args[1:], stdout, stderr)
	case "csv":
		return csvCmd(ctx, args[1:], stdout, stderr)
	case "suite":
		return suiteCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// options are the flags every command has.
type options struct {
	url      string
	n, c     int
	duration time.Duration
	baseline bool
	pause    time.Duration
	spread   []string // more instances' host:port (--spread)
}

// setSpread parses --spread.
func setSpread(o *options, v string) error {
	for _, hp := range strings.Split(v, ",") {
		if _, err := loopbackURL("http://" + hp); err != nil {
			return err
		}
		o.spread = append(o.spread, hp)
	}
	return nil
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "optin's base URL (loopback only)")
	fs.IntVar(&o.n, "n", 20000, "requests per run, at most")
	fs.IntVar(&o.c, "c", 32, "concurrent requests")
	fs.DurationVar(&o.duration, "duration", maxDuration, "time per run, at most (≤ 60s)")
	fs.BoolVar(&o.baseline, "baseline", true, "run the echo baseline before and after optin")
	fs.Func("spread", "host:port,… of more optin instances on the same database: connections to --url's host are spread over it and these (loopback only)",
		func(v string) error { return setSpread(o, v) })
	fs.DurationVar(&o.pause, "pause", 2*time.Second, "pause between runs, for the server's background work to settle (≤ 60s)")
}

// validate reports every problem at once and returns optin's base URL.
func (o *options) validate(more ...string) (string, error) {
	problems := more
	base, err := loopbackURL(o.url)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if o.n < 1 || o.n > maxN {
		problems = append(problems, fmt.Sprintf("--n must be between 1 and %d", maxN))
	}
	if o.c < 1 || o.c > maxC {
		problems = append(problems, fmt.Sprintf("--c must be between 1 and %d", maxC))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		problems = append(problems, fmt.Sprintf("--duration must be more than 0 and at most %s", maxDuration))
	}
	if o.pause < 0 || o.pause > maxDuration {
		problems = append(problems, fmt.Sprintf("--pause must be between 0 and %s", maxDuration))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	if len(o.spread) > 0 {
		u, _ := url.Parse(base)
		spreadOver(u.Host, o.spread)
	}
	return base, nil
}

// loopbackURL checks that raw is an http(s) URL on a loopback host and
// returns it without a trailing slash. This workplace forbids load on any
// other address; the client's dialer checks again at connect time.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if !strings.EqualFold(host, "localhost") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Unmap().IsLoopback() {
			return "", fmt.Errorf("--url %q: refusing a target that is not loopback (127.0.0.0/8, ::1 or localhost)", raw)
		}
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

func webhookCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin-load webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.register(fs)
	secret := fs.String("secret", getenv("OPTIN_WEBHOOK_SECRET"), "X-Optin-Secret value ($OPTIN_WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var more []string
	if *secret == "" {
		more = append(more, "--secret (or $OPTIN_WEBHOOK_SECRET) is required: optin's OPTIN_WEBHOOK_SECRET")
	}
	base, err := o.validate(more...)
	if err != nil {
		return err
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	load := func(base string) Load {
		target := base + "/webhook"
		return Load{N: o.n, C: o.c, Duration: o.duration,
			NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, target,
					bytes.NewReader(webhookBody(runID, i, time.Now().Unix())))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Optin-Secret", *secret)
				return req, nil
			}}
	}
	return compare(ctx, stdout, o, comparison{
		what:     fmt.Sprintf("POST %s/webhook (run %s)", base, runID),
		base:     base,
		load:     load,
		echoBody: []byte(`{"ok":true}`),
		hint: map[int]string{
			http.StatusUnauthorized: "--secret is not optin's OPTIN_WEBHOOK_SECRET",
		},
	})
}

// webhookBody is a Cloud API status callback whose message id is unique to
// the run and the request; i < 0 gives the probe's id.
func webhookBody(run string, i int, unix int64) []byte {
	b := make([]byte, 0, 400)
	b = append(b, `{"object":"whatsapp_business_account","entry":[{"id":"load","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"load"},"statuses":[{"id":"wamid.LOAD.`...)
	b = append(b, run...)
	b = append(b, '.')
	if i < 0 {
		b = append(b, "probe"...)
	} else {
		b = strconv.AppendInt(b, int64(i), 10)
	}
	b = append(b, `","status":"delivered","timestamp":"`...)
	b = strconv.AppendInt(b, unix, 10)
	b = append(b, `","recipient_id":"4915100000000"}]}}]}]}`...)
	return b
}

func checkCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin-load check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.register(fs)
	key := fs.String("key", getenv("OPTIN_API_KEY"), "API key, from optin apikey create ($OPTIN_API_KEY)")
	// Not …0000: the sandbox provider treats numbers ending in 0000 as not
	// on WhatsApp, so their welcome fails and the check answers undeliverable.
	phone := fs.String("phone", "+4915100000001", "phone number to check (opted in to --category)")
	category := fs.String("category", "offers", "category to check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var more []string
	if *key == "" {
		more = append(more, "--key (or $OPTIN_API_KEY) is required: create one with optin apikey create NAME")
	}
	if *phone == "" || *category == "" {
		more = append(more, "--phone and --category must not be empty")
	}
	base, err := o.validate(more...)
	if err != nil {
		return err
	}
	query := url.Values{"phone": {*phone}, "category": {*category}}.Encode()
	load := func(base string) Load {
		target := base + "/api/v1/check?" + query
		return Load{N: o.n, C: o.c, Duration: o.duration,
			NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
				if err != nil {
					return nil, err
				}
				req.Header.Set("Authorization", "Bearer "+*key)
				return req, nil
			},
			Verify: func(body []byte) string {
				if !bytes.Contains(body, []byte(`"allowed":true`)) {
					return "200 not allowed"
				}
				return ""
			}}
	}
	return compare(ctx, stdout, o, comparison{
		what:     fmt.Sprintf("GET %s/api/v1/check (category %s)", base, *category),
		base:     base,
		load:     load,
		echoBody: []byte(`{"allowed":true,"reason":"opted_in"}`),
		hint: map[int]string{
			http.StatusUnauthorized: "--key is unknown or revoked: create one with optin apikey create NAME --db <optin's database>",
			http.StatusOK: "the number has not opted in to the category, so the check takes another path: " +
				"POST an opt-in first (curl -s --data-urlencode 'phone=+…' -d 'category=…' <url>/optin)",
		},
	})
}

// comparison is one command's measurement: optin, and the echo baseline
// under the same load.
type comparison struct {
	what     string
	base     string
	load     func(base string) Load
	echoBody []byte
	hint     map[int]string // by status of a failed probe
}

// compare probes optin once, then runs echo, optin, echo and prints the
// table and the ratios.
func compare(ctx context.Context, w io.Writer, o options, cmp comparison) error {
	fmt.Fprintf(w, "optin-load: %s\n  n=%d c=%d duration≤%s; GOMAXPROCS=%d NumCPU=%d %s; load generator and servers share the machine\n",
		cmp.what, o.n, o.c, o.duration, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
	if err := probe(ctx, cmp.load(cmp.base), cmp.hint); err != nil {
		return err
	}

	var results []Result
	measure := func(name, base string) bool {
		if len(results) > 0 && o.pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(o.pause):
			}
		}
		if ctx.Err() != nil {
			return false
		}
		client := newClient(o.c)
		defer client.CloseIdleConnections()
		r := cmp.load(base).Run(ctx, client)
		r.Name = name
		results = append(results, r)
		return !r.Interrupted
	}
	if o.baseline {
		e, err := startEcho(cmp.echoBody)
		if err != nil {
			return fmt.Errorf("start echo server: %w", err)
		}
		defer e.Close()
		_ = measure("echo before", e.URL) && measure("optin", cmp.base) && measure("echo after", e.URL)
	} else {
		measure("optin", cmp.base)
	}
	report(w, results)
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	for _, r := range results {
		if r.Name == "optin" && r.ErrorCount() > 0 {
			return fmt.Errorf("%d of %d requests to optin failed", r.ErrorCount(), r.Sent)
		}
	}
	return nil
}

// probe sends one request so that a wrong secret or key fails in a second
// with a hint instead of after thousands of errors.
func probe(ctx context.Context, l Load, hint map[int]string) error {
	client := newClient(1)
	defer client.CloseIdleConnections()
	req, err := l.NewRequest(ctx, -1)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w (is optin running there?)", req.URL.Redacted(), err)
	}
	body, err := drain(resp.Body)
	if err != nil {
		return fmt.Errorf("probe: read answer: %w", err)
	}
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		msg := fmt.Sprintf("probe: optin answered %s", resp.Status)
		if h := hint[resp.StatusCode]; h != "" {
			msg += ": " + h
		}
		return errors.New(msg)
	case l.Verify != nil && l.Verify(body) != "":
		return fmt.Errorf("probe: optin answered %s: %s", bytes.TrimSpace(body), hint[resp.StatusCode])
	}
	return nil
}

// report prints one row per run and optin's ratios to the mean of the echo
// runs (before and after, so that drift shows).
func report(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tsent\tok\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	var optin *Result
	var echoRate, echoP99 float64
	echoes := 0
	for i, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t\n", r.Name, r.Sent, r.OK, r.ErrorCount(),
			r.Throughput(), ms(r.Latency.P50), ms(r.Latency.P90), ms(r.Latency.P99), ms(r.Latency.Max))
		if r.Name == "optin" {
			optin = &results[i]
		} else if r.OK > 0 {
			echoRate += r.Throughput()
			echoP99 += float64(r.Latency.P99)
			echoes++
		}
	}
	tw.Flush()
	for _, r := range results {
		if len(r.Errors) > 0 {
			fmt.Fprintf(w, "errors (%s): %s\n", r.Name, errorSummary(r.Errors))
		}
		if r.Interrupted {
			fmt.Fprintf(w, "%s: interrupted after %s\n", r.Name, r.Elapsed.Round(time.Millisecond))
		}
	}
	if optin != nil && echoes > 0 && optin.OK > 0 {
		echoRate /= float64(echoes)
		echoP99 /= float64(echoes)
		fmt.Fprintf(w, "optin / echo: throughput %.2f×, p99 %.1f×\n",
			optin.Throughput()/echoRate, float64(optin.Latency.P99)/echoP99)
	}
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) }

func errorSummary(errs map[string]int) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, errs[k])
	}
	return strings.Join(parts, ", ")
}
