package forward

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestForwardSigns(t *testing.T) {
	var gotSig, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotSig = string(b), r.Header.Get(SignatureHeader)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, Secret: []byte("k")}
	if err := c.Forward(context.Background(), []byte(`{"type":"message"}`)); err != nil {
		t.Fatal(err)
	}
	// The known answer: printf '{"type":"message"}' | openssl dgst -sha256 -hmac k
	const want = "sha256=1e46393ac134def68f80b5cfa0e818283da0fbdfd1d778d11fe3cb122c31b635"
	if gotSig != want {
		t.Errorf("signature = %q, want %q", gotSig, want)
	}
	if gotBody != `{"type":"message"}` {
		t.Errorf("body = %q", gotBody)
	}
}

func TestForwardRefused(t *testing.T) {
	for _, code := range []int{400, 500, 503} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		c := &Client{URL: srv.URL, Secret: []byte("k")}
		if err := c.Forward(context.Background(), []byte(`{}`)); err == nil {
			t.Errorf("status %d: no error", code)
		}
		srv.Close()
	}
}

func TestForwardErrorHidesURL(t *testing.T) {
	c := &Client{URL: "http://127.0.0.1:1/hook?token=s3cret", Secret: []byte("k")}
	err := c.Forward(context.Background(), []byte(`{}`))
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q leaks the URL's token into logs", err)
	}
}
