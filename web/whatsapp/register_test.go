package whatsapp

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

const (
	testCallback = "https://optin.example/webhook"
	testSecret   = "s3cr3t-0123456789abcdef"
)

func TestRegisterWebhook(t *testing.T) {
	tests := []struct {
		provider string
		wantPath string
		answer   string
	}{
		{Provider360dialog, "/v1/configs/webhook", `{"url":"https://optin.example/webhook"}`},
		{ProviderV1, "/waba/v1/configs/webhook", `{"url":"https://optin.example/webhook","headers":{"X-Optin-Secret":"s3cr3t-0123456789abcdef"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			p := providers[tt.provider]
			rec := &recorder{answer: tt.answer}
			srv := httptest.NewServer(rec)
			defer srv.Close()

			if err := RegisterWebhook(context.Background(), p.config(srv.URL), testCallback, testSecret); err != nil {
				t.Fatalf("RegisterWebhook: %v", err)
			}
			method, path, header, body, _ := rec.last()
			if method != "POST" || path != tt.wantPath {
				t.Errorf("request = %s %s, want POST %s", method, path, tt.wantPath)
			}
			if got := header.Get(p.authHeader); got != p.authValue {
				t.Errorf("%s = %q, want %q", p.authHeader, got, p.authValue)
			}
			assertJSON(t, body, `{"url":"https://optin.example/webhook","headers":{"X-Optin-Secret":"s3cr3t-0123456789abcdef"}}`)
		})
	}
}

func TestRegisterWebhookProviderError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   consent.ProviderError
	}{
		{"meta 401", 401, `{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api key"}}`,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 401, Code: 401, Title: "Invalid api key"}},
		{"meta 400 echoing the request", 400,
			`{"meta":{"success":false,"http_code":400,"developer_message":"Header X-Optin-Secret=s3cr3t-0123456789abcdef rejected for https://optin.example/webhook"}}`,
			consent.ProviderError{Class: consent.ErrRejected, HTTPStatus: 400, Code: 400, Title: "Header X-Optin-Secret=… rejected for …"}},
		{"gateway 504", 504, "upstream timed out",
			consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 504, Code: 504, Title: "Gateway Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{status: tt.status, answer: tt.body})
			defer srv.Close()
			err := RegisterWebhook(context.Background(), providers[ProviderV1].config(srv.URL), testCallback, testSecret)
			var got *consent.ProviderError
			if !errors.As(err, &got) {
				t.Fatalf("RegisterWebhook error = %v (%T), want *consent.ProviderError", err, err)
			}
			if *got != tt.want {
				t.Errorf("ProviderError = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestRegisterWebhookInvalid(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	tests := []struct {
		name        string
		cfg         Config
		url, secret string
		wantErr     string
	}{
		{"cloud has no API for it", providers[ProviderCloud].config(srv.URL), testCallback, testSecret, "app dashboard"},
		{"bad config", Config{Provider: ProviderV1}, testCallback, testSecret, "url is required"},
		{"relative callback", providers[ProviderV1].config(srv.URL), "/webhook", testSecret, "absolute"},
		{"no secret", providers[Provider360dialog].config(srv.URL), testCallback, "", "secret is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RegisterWebhook(context.Background(), tt.cfg, tt.url, tt.secret)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("RegisterWebhook error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	if _, _, _, _, calls := rec.last(); calls != 0 {
		t.Errorf("provider called %d times, want 0", calls)
	}
}
