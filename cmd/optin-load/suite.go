package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite"
)

// suiteCmd measures every hot path of a running optin at each concurrency,
// beside three baselines served by this process in the same run: echo
// (HTTP alone), a naive server that does one SQLite insert per request,
// and a bare group-commit server (the least any durable webhook intake
// can cost on this machine).
func suiteCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("optin-load suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.register(fs)
	fs.Lookup("duration").DefValue = "5s"
	o.duration = 5 * time.Second
	o.pause = time.Second
	fs.Lookup("pause").DefValue = "1s"
	secret := fs.String("secret", getenv("OPTIN_WEBHOOK_SECRET"), "X-Optin-Secret value ($OPTIN_WEBHOOK_SECRET)")
	key := fs.String("key", getenv("OPTIN_API_KEY"), "API key, from optin apikey create ($OPTIN_API_KEY)")
	conns := fs.String("conns", "32,64", "concurrencies to measure, comma-separated")
	settle := fs.Duration("settle", 60*time.Second, "before each optin run, wait up to this long for optin's webhook inbox to empty (its /metrics), so that a run does not measure the processing of the one before; 0: do not wait")
	metricsToken := fs.String("metrics-token", getenv("OPTIN_METRICS_TOKEN"), "bearer token of optin's /metrics, if it has one ($OPTIN_METRICS_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var more []string
	if *secret == "" {
		more = append(more, "--secret (or $OPTIN_WEBHOOK_SECRET) is required")
	}
	if *key == "" {
		more = append(more, "--key (or $OPTIN_API_KEY) is required")
	}
	var cs []int
	for _, f := range strings.Split(*conns, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 || c > maxC {
			more = append(more, fmt.Sprintf("--conns: %q is not a concurrency between 1 and %d", f, maxC))
			continue
		}
		cs = append(cs, c)
	}
	if len(cs) > 8 {
		more = append(more, "--conns: at most 8 concurrencies")
	}
	if o.n > 99_999 {
		more = append(more, "--n must be at most 99999 for the suite (it makes one phone number per request)")
	}
	base, err := o.validate(more...)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "optin-load-*")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(stderr, "optin-load: remove the baselines' files:", err)
		}
	}()
	naive, err := startBaseline(filepath.Join(dir, "naive.db"), false)
	if err != nil {
		return fmt.Errorf("start naive baseline: %w", err)
	}
	defer func() { _ = naive.Close() }() // measurements are printed already
	group, err := startBaseline(filepath.Join(dir, "group.db"), true)
	if err != nil {
		return fmt.Errorf("start group-commit baseline: %w", err)
	}
	defer func() { _ = group.Close() }()
	echoSrv, err := startEcho([]byte(`{"ok":true}`))
	if err != nil {
		return fmt.Errorf("start echo server: %w", err)
	}
	defer echoSrv.Close()

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	checkPhone := "+4915100000001"
	// Opt the checked number in (before the check runs), so that the check
	// answers allowed; until then a probe that changes nothing: a check.
	optedIn := false
	if err := probe(ctx, Load{NewRequest: func(ctx context.Context, _ int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/check?phone=%2B4915100000001&category=offers", nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+*key)
		}
		return req, err
	}}, map[int]string{http.StatusUnauthorized: "--key is unknown or revoked: create one with optin apikey create NAME --db <optin's database>"}); err != nil {
		return err
	}
	hook := func(target string) Load {
		return Load{N: o.n, Duration: o.duration,
			NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, target,
					bytes.NewReader(webhookBody(run, i, time.Now().Unix())))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Optin-Secret", *secret)
				return req, nil
			}}
	}
	check := Load{N: o.n, Duration: o.duration,
		NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet,
				base+"/api/v1/check?"+url.Values{"phone": {checkPhone}, "category": {"offers"}}.Encode(), nil)
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
	// Form posts: a number per request, or one per pair of requests (the
	// pair goes out at the same moment from two connections). The prefix
	// keeps runs apart.
	form := func(prefix int, pairs bool) Load {
		return Load{N: o.n, Duration: o.duration, Status: http.StatusSeeOther,
			NewRequest: func(ctx context.Context, i int) (*http.Request, error) {
				k := i
				if pairs {
					k = i / 2
				}
				body := url.Values{"phone": {fmt.Sprintf("+49151%03d%05d", prefix, k)}, "category": {"offers"}, "lang": {"en"}}.Encode()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/optin", strings.NewReader(body))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req, nil
			}}
	}
	// Two number prefixes per concurrency (new numbers, pairs), fresh for
	// each run as far as 100…999 allows.
	prefix := 100 + int(time.Now().Unix()%int64(900/(2*len(cs))))*2*len(cs)

	fmt.Fprintf(stdout, "optin-load suite: %s (run %s)\n  n≤%d duration≤%s per run; GOMAXPROCS=%d NumCPU=%d %s; load generator, baselines and optin share the machine\n",
		base, run, o.n, o.duration, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version())
	failed := 0
	for ci, c := range cs {
		runs := []struct {
			name string
			load Load
		}{
			{"echo", hook(echoSrv.URL + "/webhook")},
			{"naive insert", hook(naive.URL + "/webhook")},
			{"bare group commit", hook(group.URL + "/webhook")},
			// The same numbers first: on a freshly started optin this is
			// the double click that deadlocked the store before issue 11.
			{"optin form, same number twice at once", form(prefix+2*ci+1, true)},
			{"optin form, new numbers", form(prefix+2*ci, false)},
			{"optin webhook", hook(base + "/webhook")},
			{"optin check", check},
			{"echo again", hook(echoSrv.URL + "/webhook")},
		}
		var results []Result
		for i, r := range runs {
			if i > 0 && o.pause > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(o.pause):
				}
			}
			if ctx.Err() != nil {
				break
			}
			if strings.HasPrefix(r.name, "optin") && *settle > 0 {
				waited, pending, err := settleInbox(ctx, base, *metricsToken, *settle)
				switch {
				case err != nil:
					fmt.Fprintf(stdout, "  (not settled before %s: %v)\n", r.name, err)
				case pending > 0:
					fmt.Fprintf(stdout, "  (%s starts with %d webhook calls still to process after %s)\n", r.name, pending, waited.Round(time.Second))
				case waited >= time.Second:
					fmt.Fprintf(stdout, "  (waited %s for optin's inbox to empty before %s)\n", waited.Round(100*time.Millisecond), r.name)
				}
			}
			if r.name == "optin check" && !optedIn {
				if err := formOnce(ctx, base, checkPhone); err != nil {
					return err
				}
				optedIn = true
			}
			r.load.C = c
			client := newClient(c)
			res := r.load.Run(ctx, client)
			client.CloseIdleConnections()
			res.Name = r.name
			results = append(results, res)
			if strings.HasPrefix(r.name, "optin") {
				failed += res.ErrorCount()
			}
		}
		suiteReport(stdout, c, results)
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d requests to optin failed", failed)
	}
	return nil
}

// formOnce posts one opt-in and wants the 303.
func formOnce(ctx context.Context, base, phone string) error {
	client := newClient(1)
	defer client.CloseIdleConnections()
	body := url.Values{"phone": {phone}, "category": {"offers"}, "lang": {"en"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/optin", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe POST /optin: %w (is optin running there?)", err)
	}
	if _, err := drain(resp.Body); err != nil {
		return fmt.Errorf("probe POST /optin: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		msg := fmt.Sprintf("probe POST /optin: optin answered %s, want 303", resp.Status)
		if resp.StatusCode == http.StatusTooManyRequests {
			msg += ": start optin with OPTIN_FORM_LIMIT=0 for load runs"
		}
		return errors.New(msg)
	}
	return nil
}

// suiteReport prints one concurrency's table with ratios to the mean echo.
func suiteReport(w io.Writer, c int, results []Result) {
	var echoRate float64
	echoes := 0
	for _, r := range results {
		if strings.HasPrefix(r.Name, "echo") && r.OK > 0 {
			echoRate += r.Throughput()
			echoes++
		}
	}
	if echoes > 0 {
		echoRate /= float64(echoes)
	}
	fmt.Fprintf(w, "\nc=%d\n", c)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tsent\tok\terrors\treq/s\t× echo\tp50 ms\tp99 ms\tmax ms\t")
	for _, r := range results {
		ratio := "-"
		if echoRate > 0 {
			ratio = strconv.FormatFloat(r.Throughput()/echoRate, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t\n", r.Name, r.Sent, r.OK, r.ErrorCount(),
			r.Throughput(), ratio, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max))
	}
	tw.Flush()
	for _, r := range results {
		if len(r.Errors) > 0 {
			fmt.Fprintf(w, "errors (%s): %s\n", r.Name, errorSummary(r.Errors))
		}
	}
}

// baseline is a bare webhook server over its own SQLite file (WAL,
// synchronous=NORMAL, like optin's): each POST body is inserted, either
// in a transaction of its own (naive) or gathered with the bodies waiting
// at the same moment into one transaction (group commit), and answered
// once committed.
type baseline struct {
	URL string
	srv *http.Server
	db  *sql.DB
	in  chan groupReq
}

type groupReq struct {
	body []byte
	done chan error
}

func startBaseline(path string, group bool) (*baseline, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE inbox (id INTEGER PRIMARY KEY, body BLOB NOT NULL, received_at TEXT NOT NULL)`); err != nil {
		db.Close()
		return nil, err
	}
	b := &baseline{db: db}
	var h http.HandlerFunc
	if group {
		b.in = make(chan groupReq, 256)
		go b.commitLoop()
		h = func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			if err == nil {
				done := make(chan error, 1)
				b.in <- groupReq{body, done}
				err = <-done
			}
			answer(w, err)
		}
	} else {
		h = func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
			if err == nil {
				_, err = db.ExecContext(r.Context(), `INSERT INTO inbox (body, received_at) VALUES (?, ?)`, body, time.Now().UTC().Format(time.RFC3339Nano))
			}
			answer(w, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, err
	}
	b.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		if err := b.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ln.Close()
		}
	}()
	b.URL = "http://" + ln.Addr().String()
	return b, nil
}

func answer(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"ok":false}`)
		return
	}
	io.WriteString(w, `{"ok":true}`)
}

// commitLoop takes the first waiting body, then every body already
// waiting (up to 256), and commits them in one transaction.
func (b *baseline) commitLoop() {
	for first := range b.in {
		batch := []groupReq{first}
	more:
		for len(batch) < 256 {
			select {
			case r, ok := <-b.in:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := func() error {
			tx, err := b.db.Begin()
			if err != nil {
				return err
			}
			st, err := tx.Prepare(`INSERT INTO inbox (body, received_at) VALUES (?, ?)`)
			if err != nil {
				tx.Rollback()
				return err
			}
			now := time.Now().UTC().Format(time.RFC3339Nano)
			for _, r := range batch {
				if _, err := st.Exec(r.body, now); err != nil {
					tx.Rollback()
					return err
				}
			}
			return tx.Commit()
		}()
		for _, r := range batch {
			r.done <- err
		}
	}
}

// Close stops the server and closes the database.
func (b *baseline) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := b.srv.Shutdown(ctx)
	if b.in != nil {
		close(b.in)
	}
	return errors.Join(err, b.db.Close())
}

// settleInbox waits, up to limit, until optin's /metrics says no webhook
// call waits to be processed, and returns how long it waited and how many
// still wait. Stored calls are processed after they are answered, so
// without this a run after the webhook run measures that processing too.
func settleInbox(ctx context.Context, base, token string, limit time.Duration) (time.Duration, int, error) {
	start := time.Now()
	for {
		pending, err := inboxPending(ctx, base, token)
		if err != nil || pending == 0 || time.Since(start) >= limit {
			return time.Since(start), pending, err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), pending, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// inboxPending reads optin_webhook_inbox_pending from optin's /metrics.
func inboxPending(ctx context.Context, base, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics answered %s (--metrics-token?)", resp.Status)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "optin_webhook_inbox_pending "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	return 0, errors.New("/metrics has no optin_webhook_inbox_pending")
}
