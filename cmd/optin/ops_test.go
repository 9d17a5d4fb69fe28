package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer collects what optin writes from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveOnce starts optin serve with env, waits until it listens, stops it
// and returns what it printed (stdout) and logged (stderr).
func serveOnce(t *testing.T, env map[string]string) (stdout, log string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var out, errs lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, nil,
			io.MultiWriter(pw, &out), &errs)
		pw.Close()
	}()
	readURL(t, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	return out.String(), errs.String()
}

// optinProcess runs this test binary as the optin command (see TestMain)
// and returns its exit code and output.
func optinProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "OPTIN_TEST_BE_OPTIN=1"), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestHealthcheckCommand runs `optin healthcheck` as a process, as the
// Dockerfile's HEALTHCHECK does: exit 0 against a running optin (found
// through OPTIN_ADDR or --addr, an all-interfaces address reached on
// loopback), 1 when nothing listens or /healthz is not ok.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	base := startOptin(t, sandboxEnv(t))
	u, _ := url.Parse(base)
	_, port, _ := net.SplitHostPort(u.Host)

	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable"}`)
	}))
	t.Cleanup(unhealthy.Close)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name     string
		env      []string
		args     []string
		wantExit int
	}{
		{"OPTIN_ADDR of the running optin", []string{"OPTIN_ADDR=" + u.Host}, nil, 0},
		{"all interfaces, as in the image", []string{"OPTIN_ADDR=0.0.0.0:" + port}, nil, 0},
		{"--addr beats OPTIN_ADDR", []string{"OPTIN_ADDR=" + closedAddr}, []string{"--addr", u.Host}, 0},
		{"nothing listens", []string{"OPTIN_ADDR=" + closedAddr}, nil, 1},
		{"healthz not ok", []string{"OPTIN_ADDR=" + strings.TrimPrefix(unhealthy.URL, "http://")}, nil, 1},
		{"bad address", []string{"OPTIN_ADDR=nonsense"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out := optinProcess(t, tt.env, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.wantExit {
				t.Errorf("exit %d, want %d; output:\n%s", code, tt.wantExit, out)
			}
			if tt.wantExit == 0 && !strings.HasPrefix(out, "ok ") {
				t.Errorf("output %q, want ok and the version", out)
			}
		})
	}
}

// TestStartupNotes checks what serve tells the person who starts it: the
// console's URL; with no admin, how to add the first one; with a live
// provider on a loopback base URL, a warning.
func TestStartupNotes(t *testing.T) {
	t.Parallel()
	t.Run("sandbox, no admin yet", func(t *testing.T) {
		t.Parallel()
		env := sandboxEnv(t)
		out, log := serveOnce(t, env)
		if !strings.Contains(out, "Admin console: http://127.0.0.1:") || !strings.Contains(out, "/admin/\n") {
			t.Errorf("stdout does not name the console:\n%s", out)
		}
		if want := "optin admin add EMAIL --db " + env["OPTIN_DB"]; !strings.Contains(out, want) || !strings.Contains(log, "no console admin yet") {
			t.Errorf("no hint %q:\nstdout:\n%s\nlog:\n%s", want, out, log)
		}
		if !strings.Contains(log, `msg="admin console" url=http://127.0.0.1:`) {
			t.Errorf("log does not name the console:\n%s", log)
		}
		if strings.Contains(log, "loopback") {
			t.Errorf("loopback warning with the sandbox:\n%s", log)
		}

		addAdmin(t, env, "first@example.com", "admin", "correct horse battery")
		out, log = serveOnce(t, env)
		if strings.Contains(out, "optin admin add") || strings.Contains(log, "no console admin") {
			t.Errorf("hint shown with an admin present:\nstdout:\n%s\nlog:\n%s", out, log)
		}
	})
	t.Run("live provider on loopback", func(t *testing.T) {
		t.Parallel()
		_, log := serveOnce(t, baseEnv(t, "cloud", "http://127.0.0.1:1"))
		if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "OPTIN_BASE_URL is a loopback address") {
			t.Errorf("no loopback warning:\n%s", log)
		}
	})
	t.Run("live provider on a public URL", func(t *testing.T) {
		t.Parallel()
		env := baseEnv(t, "cloud", "http://127.0.0.1:1")
		env["OPTIN_BASE_URL"] = "https://optin.example.com"
		_, log := serveOnce(t, env)
		if strings.Contains(log, "loopback") {
			t.Errorf("loopback warning for a public URL:\n%s", log)
		}
	})
}

func TestLoopbackURL(t *testing.T) {
	t.Parallel()
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:80": true,
		"http://0.0.0.0:8080": true, "http://app.localhost": true,
		"https://optin.example.com": false, "http://10.0.0.5:8080": false, "https://203.0.113.8": false,
	} {
		if got := loopbackURL(u); got != want {
			t.Errorf("loopbackURL(%q) = %v, want %v", u, got, want)
		}
	}
}
