package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

const (
	testTo        = "4915112345678"
	testPhoneID   = "106540352242922"
	testNamespace = "c8ae5f90_307a_ca4c_b8f6_d1e2a2573574"
	cloudWamid    = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABEYEjQyQkI0QzE2RjdFNDQ1QkEA"
	v1MessageID   = "gBEGSRURBVWZAgk3VRB9JWzBJHc"
	inboundID     = "wamid.HBgNNDkxNTExMjM0NTY3OBUCABIYFjNFQjBDMDAwMDAwMDAwMDAwMDAwMDEA"
)

// Success answers as the providers send them.
const (
	cloudSent = `{"messaging_product":"whatsapp","contacts":[{"input":"4915112345678","wa_id":"4915112345678"}],"messages":[{"id":"` + cloudWamid + `"}]}`
	cloudRead = `{"success":true}`
	v1Sent    = `{"messages":[{"id":"` + v1MessageID + `"}],"meta":{"api_status":"stable","version":"2.51.2"}}`
	v1Read    = `{}`
)

// recorder is an httptest handler that remembers the last request and
// answers with a fixed status, headers and body.
type recorder struct {
	mu     sync.Mutex
	method string
	path   string
	header http.Header
	body   []byte
	calls  int

	status  int
	headers map[string]string
	answer  string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.method, r.path, r.header, r.body = req.Method, req.URL.EscapedPath(), req.Header.Clone(), body
	r.calls++
	status, headers, answer := r.status, r.headers, r.answer
	r.mu.Unlock()
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (r *recorder) last() (method, path string, header http.Header, body []byte, calls int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.method, r.path, r.header, r.body, r.calls
}

// providerSetup describes how each provider is configured against a test
// server and what it must send.
type providerSetup struct {
	name       string
	config     func(base string) Config
	authHeader string
	authValue  string
	sendPath   string
}

var providers = map[string]providerSetup{
	Provider360dialog: {
		name: Provider360dialog,
		config: func(base string) Config {
			return Config{Provider: Provider360dialog, URL: base, Token: "d360-test-key"}
		},
		authHeader: "D360-API-KEY",
		authValue:  "d360-test-key",
		sendPath:   "/messages",
	},
	ProviderCloud: {
		name: ProviderCloud,
		config: func(base string) Config {
			return Config{Provider: ProviderCloud, URL: base + "/v21.0/", Token: "EAAGtest", PhoneNumberID: testPhoneID}
		},
		authHeader: "Authorization",
		authValue:  "Bearer EAAGtest",
		sendPath:   "/v21.0/" + testPhoneID + "/messages",
	},
	ProviderV1: {
		name: ProviderV1,
		config: func(base string) Config {
			return Config{Provider: ProviderV1, URL: base + "/waba", Token: "wa-test-key"}
		},
		authHeader: "WA-API-KEY",
		authValue:  "wa-test-key",
		sendPath:   "/waba/v1/messages",
	},
}

// Messages of every kind, as the dispatcher builds them.
var (
	templateMsg = consent.Message{
		Kind: consent.KindTemplate,
		To:   testTo,
		Template: &consent.Template{
			Name:       "optin_confirm",
			Language:   "en",
			Namespace:  testNamespace,
			BodyParams: []string{"Erika", "Bäckerei Schmidt"},
			Buttons: []consent.TemplateButton{
				{Index: 0, SubType: "quick_reply", Payload: "confirm:42", Title: "Yes"},
				{Index: 1, SubType: "url", Text: "c/abc123", Title: "Details"},
			},
			Preview: "Hi Erika, Bäckerei Schmidt would like to…",
		},
	}
	textMsg = consent.Message{
		Kind:       consent.KindText,
		To:         testTo,
		Text:       "Thanks! Manage your choices: https://optin.example/p/abc",
		PreviewURL: true,
	}
	interactiveMsg = consent.Message{
		Kind: consent.KindInteractive,
		To:   testTo,
		Interactive: &consent.Interactive{
			Header: "Bäckerei Schmidt",
			Body:   "Would you like our weekly offers?",
			Footer: "Reply STOP at any time",
			Buttons: []consent.Button{
				{ID: "yes:offers", Title: "Yes please"},
				{ID: "no:offers", Title: "No thanks"},
			},
		},
	}
	contactsMsg = consent.Message{
		Kind: consent.KindContacts,
		To:   testTo,
		Contacts: []consent.Card{{
			Name:  "Bäckerei Schmidt",
			Phone: "+4930123456789",
			Email: "hallo@baeckerei.example",
			URL:   "https://baeckerei.example",
		}},
	}
	readMsg = consent.Message{Kind: consent.KindRead, ReadID: inboundID}
	listMsg = consent.Message{
		Kind: consent.KindInteractive,
		To:   testTo,
		Interactive: &consent.Interactive{
			Header: "Bäckerei Schmidt",
			Body:   "Which messages would you like?",
			Footer: "Reply STOP at any time",
			List: &consent.List{Button: "Choose topics", Sections: []consent.ListSection{
				{Title: "Marketing", Rows: []consent.ListRow{{ID: "cat:offers", Title: "Offers", Description: "Weekly deals"}, {ID: "cat:news", Title: "News"}}},
				{Title: "Service", Rows: []consent.ListRow{{ID: "cat:order_updates", Title: "Order updates"}}},
			}},
		},
	}
)

// Expected bodies in the Cloud API dialect (360dialog and cloud).
const (
	cloudTemplateBody = `{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "template",
		"template": {
			"name": "optin_confirm",
			"language": {"code": "en"},
			"components": [
				{"type": "body", "parameters": [{"type": "text", "text": "Erika"}, {"type": "text", "text": "Bäckerei Schmidt"}]},
				{"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "confirm:42"}]},
				{"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "c/abc123"}]}
			]
		}}`
	cloudTextBody = `{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "text",
		"text": {"body": "Thanks! Manage your choices: https://optin.example/p/abc", "preview_url": true}}`
	cloudInteractiveBody = `{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "interactive",
		"interactive": {
			"type": "button",
			"header": {"type": "text", "text": "Bäckerei Schmidt"},
			"body": {"text": "Would you like our weekly offers?"},
			"footer": {"text": "Reply STOP at any time"},
			"action": {"buttons": [
				{"type": "reply", "reply": {"id": "yes:offers", "title": "Yes please"}},
				{"type": "reply", "reply": {"id": "no:offers", "title": "No thanks"}}
			]}
		}}`
	// Meta's "Interactive list messages" request syntax.
	cloudListBody = `{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "interactive",
		"interactive": {
			"type": "list",
			"header": {"type": "text", "text": "Bäckerei Schmidt"},
			"body": {"text": "Which messages would you like?"},
			"footer": {"text": "Reply STOP at any time"},
			"action": {
				"button": "Choose topics",
				"sections": [
					{"title": "Marketing", "rows": [
						{"id": "cat:offers", "title": "Offers", "description": "Weekly deals"},
						{"id": "cat:news", "title": "News"}
					]},
					{"title": "Service", "rows": [{"id": "cat:order_updates", "title": "Order updates"}]}
				]
			}
		}}`
	cloudContactsBody = `{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "contacts",
		"contacts": [{
			"name": {"formatted_name": "Bäckerei Schmidt", "first_name": "Bäckerei Schmidt"},
			"phones": [{"phone": "+4930123456789", "type": "WORK", "wa_id": "4930123456789"}],
			"emails": [{"email": "hallo@baeckerei.example", "type": "WORK"}],
			"urls": [{"url": "https://baeckerei.example", "type": "WORK"}]
		}]}`
	cloudReadBody = `{"messaging_product": "whatsapp", "status": "read", "message_id": "` + inboundID + `"}`
)

// Expected bodies in the on-premise dialect (v1).
const (
	v1TemplateBody = `{
		"recipient_type": "individual", "to": "4915112345678", "type": "template",
		"template": {
			"namespace": "c8ae5f90_307a_ca4c_b8f6_d1e2a2573574",
			"name": "optin_confirm",
			"language": {"policy": "deterministic", "code": "en"},
			"components": [
				{"type": "body", "parameters": [{"type": "text", "text": "Erika"}, {"type": "text", "text": "Bäckerei Schmidt"}]},
				{"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "confirm:42"}]},
				{"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "c/abc123"}]}
			]
		}}`
	v1TextBody = `{
		"recipient_type": "individual", "to": "4915112345678", "type": "text", "preview_url": true,
		"text": {"body": "Thanks! Manage your choices: https://optin.example/p/abc"}}`
	v1ReadBody = `{"status": "read"}`
)

// withoutMessagingProduct turns a Cloud body into its on-premise twin for
// the kinds whose body is otherwise the same.
func withoutMessagingProduct(t *testing.T, body string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("bad test body: %v", err)
	}
	delete(m, "messaging_product")
	out, _ := json.Marshal(m)
	return string(out)
}

func TestSend(t *testing.T) {
	type tc struct {
		provider   string
		msg        consent.Message
		answer     string
		wantMethod string
		wantPath   string // "" means the provider's send path
		wantBody   string
		want       consent.SendResult
	}
	sent := consent.SendResult{MessageID: cloudWamid, WaID: testTo}
	v1sent := consent.SendResult{MessageID: v1MessageID}
	var tests []tc
	for _, p := range []string{Provider360dialog, ProviderCloud} {
		tests = append(tests,
			tc{p, templateMsg, cloudSent, "POST", "", cloudTemplateBody, sent},
			tc{p, textMsg, cloudSent, "POST", "", cloudTextBody, sent},
			tc{p, interactiveMsg, cloudSent, "POST", "", cloudInteractiveBody, sent},
			tc{p, listMsg, cloudSent, "POST", "", cloudListBody, sent},
			tc{p, contactsMsg, cloudSent, "POST", "", cloudContactsBody, sent},
			tc{p, readMsg, cloudRead, "POST", "", cloudReadBody, consent.SendResult{}},
		)
	}
	tests = append(tests,
		tc{ProviderV1, templateMsg, v1Sent, "POST", "", v1TemplateBody, v1sent},
		tc{ProviderV1, textMsg, v1Sent, "POST", "", v1TextBody, v1sent},
		tc{ProviderV1, interactiveMsg, v1Sent, "POST", "", withoutMessagingProduct(t, cloudInteractiveBody), v1sent},
		tc{ProviderV1, listMsg, v1Sent, "POST", "", withoutMessagingProduct(t, cloudListBody), v1sent},
		tc{ProviderV1, contactsMsg, v1Sent, "POST", "", withoutMessagingProduct(t, cloudContactsBody), v1sent},
		tc{ProviderV1, readMsg, v1Read, "PUT", "/waba/v1/messages/" + inboundID, v1ReadBody, consent.SendResult{}},
	)
	for _, tt := range tests {
		t.Run(tt.provider+"/"+string(tt.msg.Kind), func(t *testing.T) {
			p := providers[tt.provider]
			rec := &recorder{answer: tt.answer}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s, err := New(p.config(srv.URL))
			if err != nil {
				t.Fatalf("New: %v", err)
			}

			got, err := s.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got != tt.want {
				t.Errorf("SendResult = %+v, want %+v", got, tt.want)
			}
			method, path, header, body, _ := rec.last()
			wantPath := tt.wantPath
			if wantPath == "" {
				wantPath = p.sendPath
			}
			if method != tt.wantMethod || path != wantPath {
				t.Errorf("request = %s %s, want %s %s", method, path, tt.wantMethod, wantPath)
			}
			if got := header.Get(p.authHeader); got != p.authValue {
				t.Errorf("%s = %q, want %q", p.authHeader, got, p.authValue)
			}
			if got := header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			assertJSON(t, body, tt.wantBody)
		})
	}
}

// assertJSON compares a request body to the expected JSON as decoded
// values, so key order and spacing don't matter but every field does.
func assertJSON(t *testing.T, gotBody []byte, wantJSON string) {
	t.Helper()
	var got, want any
	if err := json.Unmarshal(gotBody, &got); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, gotBody)
	}
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("body =\n%s\nwant\n%s", g, w)
	}
}

func TestSendTemplateWithoutParams(t *testing.T) {
	// The plainest template has no components at all; an empty
	// "components" array is refused by some on-premise versions.
	tests := []struct {
		provider string
		want     string
	}{
		{Provider360dialog, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"4915112345678","type":"template",
			"template":{"name":"hello","language":{"code":"de"}}}`},
		{ProviderV1, `{"recipient_type":"individual","to":"4915112345678","type":"template",
			"template":{"namespace":"` + testNamespace + `","name":"hello","language":{"policy":"deterministic","code":"de"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			rec := &recorder{answer: cloudSent}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s, err := New(providers[tt.provider].config(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			m := consent.Message{Kind: consent.KindTemplate, To: testTo,
				Template: &consent.Template{Name: "hello", Language: "de", Namespace: testNamespace}}
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			_, _, _, body, _ := rec.last()
			assertJSON(t, body, tt.want)
		})
	}
}

func TestSendAcceptedWithoutID(t *testing.T) {
	// A 2xx means the provider has the message; whatever its answer says,
	// reporting failure would make the dispatcher send it twice.
	for _, answer := range []string{"", "null", "{}", "<html>OK</html>", `{"messages":[]}`} {
		t.Run(answer, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{answer: answer})
			defer srv.Close()
			s, err := New(providers[Provider360dialog].config(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Send(context.Background(), textMsg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got != (consent.SendResult{}) {
				t.Errorf("SendResult = %+v, want zero", got)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	const (
		cloudUndeliverable = `{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,
			"error_data":{"messaging_product":"whatsapp","details":"Message Undeliverable."},"error_subcode":2494055,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudWindow = `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
			"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudRateLimit = `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
			"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudMarketingStopped = `{"error":{"message":"(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.","type":"OAuthException","code":131050,
			"error_data":{"messaging_product":"whatsapp","details":"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."},"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudNoTemplate = `{"error":{"message":"(#132001) Template name does not exist in the translation","type":"OAuthException","code":132001,
			"error_data":{"messaging_product":"whatsapp","details":"template name (optin_confirm) does not exist in en"},"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudToken = `{"error":{"message":"Error validating access token: Session has expired on Tuesday, 11-Feb-25 04:00:00 PST. The current time is Wednesday, 12-Feb-25 01:00:00 PST.",
			"type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudPayment = `{"error":{"message":"(#131042) Business eligibility payment issue","type":"OAuthException","code":131042,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudUnknown = `{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudParam   = `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudPair    = `{"error":{"message":"(#131056) (Business Account, Consumer Account) pair rate limit hit","type":"OAuthException","code":131056,"fbtrace_id":"AbCdEfGhIjK"}}`
		cloudAppRate = `{"error":{"message":"(#80007) There have been too many calls to this WhatsApp Business account.","type":"OAuthException","code":80007,"fbtrace_id":"AbCdEfGhIjK"}}`
		badGateway   = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n"

		d360Key = `{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api key"}}`

		v1NotValid   = `{"errors":[{"code":1013,"title":"User is not valid"}],"meta":{"api_status":"stable","version":"2.51.2"}}`
		v1Window     = `{"errors":[{"code":470,"title":"Message failed to send because more than 24 hours have passed since the customer last replied to this number"}]}`
		v1NoTemplate = `{"errors":[{"code":2001,"title":"Template name does not exist in the translation","details":"template name (optin_confirm) does not exist in en"}]}`
		v1Structure  = `{"errors":[{"code":500,"title":"structure unavailable: Client could not display highly structured message","details":"Template was not understood by the WhatsApp client"}]}`
		v1Meta500    = `{"meta":{"success":false,"http_code":500,"developer_message":"Internal server error"}}`
		v1MetaOK200  = `{"meta":{"success":false,"http_code":400,"developer_message":"Bad request"}}`
		v1Timeout    = `{"errors":[{"code":408,"title":"Message failed to send because it was pending for too long"}]}`
	)
	tests := []struct {
		name     string
		provider string
		status   int
		headers  map[string]string
		body     string
		msg      consent.Message
		want     consent.ProviderError
	}{
		{"cloud 131026 undeliverable", ProviderCloud, 400, nil, cloudUndeliverable, templateMsg,
			consent.ProviderError{Class: consent.ErrUndeliverable, HTTPStatus: 400, Code: 131026, Title: "(#131026) Message undeliverable"}},
		{"cloud 131047 window closed", ProviderCloud, 400, nil, cloudWindow, textMsg,
			consent.ProviderError{Class: consent.ErrWindowClosed, HTTPStatus: 400, Code: 131047, Title: "(#131047) Re-engagement message"}},
		{"cloud 130429 with Retry-After", ProviderCloud, 400, map[string]string{"Retry-After": "30"}, cloudRateLimit, templateMsg,
			consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 400, Code: 130429, Title: "(#130429) Rate limit hit", RetryAfter: 30 * time.Second}},
		{"cloud 131056 pair rate limit", ProviderCloud, 400, nil, cloudPair, textMsg,
			consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 400, Code: 131056, Title: "(#131056) (Business Account, Consumer Account) pair rate limit hit"}},
		{"cloud 80007 account rate limit", ProviderCloud, 400, nil, cloudAppRate, textMsg,
			consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 400, Code: 80007, Title: "(#80007) There have been too many calls to this WhatsApp Business account."}},
		{"cloud 131050 marketing stopped", ProviderCloud, 400, nil, cloudMarketingStopped, templateMsg,
			consent.ProviderError{Class: consent.ErrMarketingStopped, HTTPStatus: 400, Code: 131050,
				Title: "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp fro…"}},
		{"cloud 132001 template missing", ProviderCloud, 404, nil, cloudNoTemplate, templateMsg,
			consent.ProviderError{Class: consent.ErrTemplate, HTTPStatus: 404, Code: 132001, Title: "(#132001) Template name does not exist in the translation"}},
		{"cloud 190 expired token", ProviderCloud, 401, nil, cloudToken, templateMsg,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 401, Code: 190,
				Title: "Error validating access token: Session has expired on Tuesday, 11-Feb-25 04:00:00 PST. The current time is Wednesday, 1…"}},
		{"cloud 131042 payment", ProviderCloud, 400, nil, cloudPayment, templateMsg,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 400, Code: 131042, Title: "(#131042) Business eligibility payment issue"}},
		{"cloud 131000 on a 500 is transient", ProviderCloud, 500, nil, cloudUnknown, templateMsg,
			consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 500, Code: 131000, Title: "(#131000) Something went wrong"}},
		{"cloud 100 invalid parameter", ProviderCloud, 400, nil, cloudParam, templateMsg,
			consent.ProviderError{Class: consent.ErrRejected, HTTPStatus: 400, Code: 100, Title: "(#100) Invalid parameter"}},
		{"cloud 502 html", ProviderCloud, 502, map[string]string{"Content-Type": "text/html"}, badGateway, templateMsg,
			consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 502, Code: 502, Title: "Bad Gateway"}},
		{"360dialog 429 without body", Provider360dialog, 429, map[string]string{"Retry-After": "120"}, "", templateMsg,
			consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 429, Code: 429, Title: "Too Many Requests", RetryAfter: 2 * time.Minute}},
		{"360dialog 503 text", Provider360dialog, 503, nil, "Service Unavailable", templateMsg,
			consent.ProviderError{Class: consent.ErrThrottled, HTTPStatus: 503, Code: 503, Title: "Service Unavailable"}},
		{"360dialog 401 meta", Provider360dialog, 401, nil, d360Key, templateMsg,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 401, Code: 401, Title: "Invalid api key"}},
		{"360dialog cloud error shape", Provider360dialog, 400, nil, cloudUndeliverable, templateMsg,
			consent.ProviderError{Class: consent.ErrUndeliverable, HTTPStatus: 400, Code: 131026, Title: "(#131026) Message undeliverable"}},
		{"v1 1013 user not valid", ProviderV1, 400, nil, v1NotValid, templateMsg,
			consent.ProviderError{Class: consent.ErrUndeliverable, HTTPStatus: 400, Code: 1013, Title: "User is not valid"}},
		{"v1 470 window closed", ProviderV1, 400, nil, v1Window, textMsg,
			consent.ProviderError{Class: consent.ErrWindowClosed, HTTPStatus: 400, Code: 470,
				Title: "Message failed to send because more than 24 hours have passed since the customer last replied to this number"}},
		{"v1 2001 template", ProviderV1, 404, nil, v1NoTemplate, templateMsg,
			consent.ProviderError{Class: consent.ErrTemplate, HTTPStatus: 404, Code: 2001, Title: "Template name does not exist in the translation"}},
		{"v1 500 structure unavailable", ProviderV1, 500, nil, v1Structure, templateMsg,
			consent.ProviderError{Class: consent.ErrTemplate, HTTPStatus: 500, Code: 500,
				Title: "structure unavailable: Client could not display highly structured message"}},
		{"v1 408 timeout", ProviderV1, 408, nil, v1Timeout, textMsg,
			consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 408, Code: 408, Title: "Message failed to send because it was pending for too long"}},
		{"v1 meta 500", ProviderV1, 500, nil, v1Meta500, templateMsg,
			consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: 500, Code: 500, Title: "Internal server error"}},
		{"v1 meta failure on a 200", ProviderV1, 200, nil, v1MetaOK200, templateMsg,
			consent.ProviderError{Class: consent.ErrRejected, HTTPStatus: 200, Code: 400, Title: "Bad request"}},
		{"v1 401 without body", ProviderV1, 401, nil, "", templateMsg,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 401, Code: 401, Title: "Unauthorized"}},
		{"v1 402 without body", ProviderV1, 402, nil, "", templateMsg,
			consent.ProviderError{Class: consent.ErrAccount, HTTPStatus: 402, Code: 402, Title: "Payment Required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{status: tt.status, headers: tt.headers, answer: tt.body})
			defer srv.Close()
			s, err := New(providers[tt.provider].config(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), tt.msg)
			var got *consent.ProviderError
			if !errors.As(err, &got) {
				t.Fatalf("Send error = %v (%T), want *consent.ProviderError", err, err)
			}
			if *got != tt.want {
				t.Errorf("ProviderError =\n%+v\nwant\n%+v", *got, tt.want)
			}
		})
	}
}

func TestSendRetryAfterDate(t *testing.T) {
	now := time.Date(2025, 2, 12, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"Wed, 12 Feb 2025 09:01:30 GMT", 90 * time.Second},
		{"Wed, 12 Feb 2025 08:00:00 GMT", 0}, // already past
		{"Thu, 20 Feb 2025 09:00:00 GMT", 24 * time.Hour},
		{"soon", 0},
		{"-5", 0},
		{"99999999999999999999", 0},
		{"864000", 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			srv := httptest.NewServer(&recorder{status: 429, headers: map[string]string{"Retry-After": tt.header}})
			defer srv.Close()
			c, err := newClient(providers[Provider360dialog].config(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			c.now = func() time.Time { return now }
			_, err = c.Send(context.Background(), templateMsg)
			var pe *consent.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("Send error = %v, want *consent.ProviderError", err)
			}
			if pe.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.want)
			}
		})
	}
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	cfg := providers[ProviderCloud].config(srv.URL)
	srv.Close() // nothing listens any more

	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), templateMsg)
	var got *consent.ProviderError
	if !errors.As(err, &got) {
		t.Fatalf("Send error = %v (%T), want *consent.ProviderError", err, err)
	}
	if got.Class != consent.ErrTransient || got.HTTPStatus != 0 || got.Code != 0 {
		t.Errorf("ProviderError = %+v, want class transient, HTTP 0, code 0", *got)
	}
	if !got.Retryable() {
		t.Error("Retryable() = false, want true")
	}
	if strings.Contains(got.Title, testPhoneID) {
		t.Errorf("Title %q contains the request URL", got.Title)
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handler
	cfg := providers[ProviderV1].config(srv.URL)
	cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), textMsg)
	var got *consent.ProviderError
	if !errors.As(err, &got) {
		t.Fatalf("Send error = %v (%T), want *consent.ProviderError", err, err)
	}
	want := consent.ProviderError{Class: consent.ErrTransient, Title: "timeout"}
	if *got != want {
		t.Errorf("ProviderError = %+v, want %+v", *got, want)
	}
}

func TestSendContextCanceled(t *testing.T) {
	rec := &recorder{answer: cloudSent}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s, err := New(providers[Provider360dialog].config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Send(ctx, templateMsg)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send error = %v, want context.Canceled", err)
	}
	var pe *consent.ProviderError
	if errors.As(err, &pe) {
		t.Errorf("Send error is a ProviderError %+v; an abandoned attempt is not the provider's failure", *pe)
	}
}

func TestSendTitleHidesPersonalData(t *testing.T) {
	// A provider that quotes the request back must not get the number or
	// the text into Title, which is stored and shown to admins.
	answer := `{"error":{"message":"(#100) Param text['body'] 'Thanks! Manage your choices: https://optin.example/p/abc' invalid for +4915112345678 (wa_id 4915112345678, alt 4917699887766)","code":100}}`
	srv := httptest.NewServer(&recorder{status: 400, answer: answer})
	defer srv.Close()
	s, err := New(providers[ProviderCloud].config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), textMsg)
	var pe *consent.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("Send error = %v, want *consent.ProviderError", err)
	}
	for _, secret := range []string{testTo, "4917699887766", "Manage your choices", "optin.example"} {
		if strings.Contains(pe.Title, secret) || strings.Contains(pe.Error(), secret) {
			t.Errorf("Title %q contains %q", pe.Title, secret)
		}
	}
	if want := "(#100) Param text['body'] '…' invalid for … (wa_id …, alt …)"; pe.Title != want {
		t.Errorf("Title = %q, want %q", pe.Title, want)
	}
}

func TestSendBodyCapped(t *testing.T) {
	// An endless error page must neither hang Send nor fill memory.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 64; i++ { // 4 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	s, err := New(providers[Provider360dialog].config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), templateMsg)
	var pe *consent.ProviderError
	if !errors.As(err, &pe) || pe.Class != consent.ErrTransient || pe.HTTPStatus != 500 {
		t.Errorf("Send error = %v, want transient 500", err)
	}
}

func TestSendInvalidMessage(t *testing.T) {
	tooMany := []consent.Button{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"}, {ID: "d", Title: "D"}}
	tests := []struct {
		name     string
		provider string
		msg      consent.Message
	}{
		{"unknown kind", Provider360dialog, consent.Message{Kind: "image", To: testTo}},
		{"no recipient", Provider360dialog, consent.Message{Kind: consent.KindText, Text: "hi"}},
		{"empty text", Provider360dialog, consent.Message{Kind: consent.KindText, To: testTo}},
		{"template without template", ProviderCloud, consent.Message{Kind: consent.KindTemplate, To: testTo}},
		{"template without language", ProviderCloud, consent.Message{Kind: consent.KindTemplate, To: testTo, Template: &consent.Template{Name: "x"}}},
		{"v1 template without namespace", ProviderV1, consent.Message{Kind: consent.KindTemplate, To: testTo, Template: &consent.Template{Name: "x", Language: "en"}}},
		{"empty body parameter", ProviderCloud, consent.Message{Kind: consent.KindTemplate, To: testTo,
			Template: &consent.Template{Name: "x", Language: "en", BodyParams: []string{"a", ""}}}},
		{"unknown button sub_type", ProviderCloud, consent.Message{Kind: consent.KindTemplate, To: testTo,
			Template: &consent.Template{Name: "x", Language: "en", Buttons: []consent.TemplateButton{{SubType: "copy_code", Payload: "x"}}}}},
		{"quick reply without payload", ProviderCloud, consent.Message{Kind: consent.KindTemplate, To: testTo,
			Template: &consent.Template{Name: "x", Language: "en", Buttons: []consent.TemplateButton{{SubType: "quick_reply"}}}}},
		{"interactive without buttons", ProviderCloud, consent.Message{Kind: consent.KindInteractive, To: testTo,
			Interactive: &consent.Interactive{Body: "x"}}},
		{"interactive with four buttons", ProviderCloud, consent.Message{Kind: consent.KindInteractive, To: testTo,
			Interactive: &consent.Interactive{Body: "x", Buttons: tooMany}}},
		{"button title too long", ProviderCloud, consent.Message{Kind: consent.KindInteractive, To: testTo,
			Interactive: &consent.Interactive{Body: "x", Buttons: []consent.Button{{ID: "a", Title: "Ja, ich möchte Angebote erhalten"}}}}},
		{"contacts without card", ProviderCloud, consent.Message{Kind: consent.KindContacts, To: testTo}},
		{"card without name", ProviderCloud, consent.Message{Kind: consent.KindContacts, To: testTo, Contacts: []consent.Card{{Phone: "+4930123456"}}}},
		{"read without id", ProviderV1, consent.Message{Kind: consent.KindRead}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: cloudSent}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			s, err := New(providers[tt.provider].config(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), tt.msg)
			var pe *consent.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("Send error = %v, want *consent.ProviderError", err)
			}
			if pe.Class != consent.ErrRejected || pe.Retryable() {
				t.Errorf("Class = %s, want %s and not retryable", pe.Class, consent.ErrRejected)
			}
			if _, _, _, _, calls := rec.last(); calls != 0 {
				t.Errorf("provider called %d times, want 0", calls)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr []string // substrings; nil means no error
	}{
		{"360dialog default url", Config{Provider: Provider360dialog, Token: "k"}, nil},
		{"cloud", Config{Provider: ProviderCloud, Token: "k", PhoneNumberID: "1"}, nil},
		{"v1", Config{Provider: ProviderV1, URL: "https://waba.example/api/", Token: "k"}, nil},
		{"empty", Config{}, []string{"provider is required", "token is required"}},
		{"sandbox is not a provider here", Config{Provider: "sandbox", Token: "k"}, []string{`unknown provider "sandbox"`}},
		{"cloud without phone id", Config{Provider: ProviderCloud, Token: "k"}, []string{"phone number id"}},
		{"v1 without url", Config{Provider: ProviderV1, Token: "k"}, []string{"url is required"}},
		{"relative url", Config{Provider: ProviderV1, URL: "waba.example", Token: "k"}, []string{"absolute http(s) URL"}},
		{"all at once", Config{Provider: ProviderCloud, URL: "ftp://x", Token: " "}, []string{"absolute", "token", "phone number id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr == nil {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v; want a Sender", s, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New error = nil, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNewDefaultURL(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Provider: Provider360dialog, Token: "k"}, "https://waba-v2.360dialog.io/messages"},
		{Config{Provider: ProviderCloud, Token: "k", PhoneNumberID: "123"}, "https://graph.facebook.com/v21.0/123/messages"},
		{Config{Provider: ProviderV1, URL: "https://waba.example/base/", Token: "k"}, "https://waba.example/base/v1/messages"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg.Provider, func(t *testing.T) {
			c, err := newClient(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.messagesURL(); got != tt.want {
				t.Errorf("messages URL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultURL(t *testing.T) {
	tests := []struct{ provider, want string }{
		{Provider360dialog, "https://waba-v2.360dialog.io"},
		{ProviderCloud, "https://graph.facebook.com/v21.0"},
		{ProviderV1, ""},
		{"sandbox", ""},
	}
	for _, tt := range tests {
		if got := DefaultURL(tt.provider); got != tt.want {
			t.Errorf("DefaultURL(%q) = %q, want %q", tt.provider, got, tt.want)
		}
	}
}

func TestClassifyError(t *testing.T) {
	tests := []struct {
		code  int
		title string
		want  consent.ErrorClass
	}{
		{500, "structure unavailable: Client could not display highly structured message", consent.ErrTemplate},
		{500, "Internal server error", consent.ErrTransient},
		{131026, "Message undeliverable", consent.ErrUndeliverable},
		{131050, "", consent.ErrMarketingStopped},
	}
	for _, tt := range tests {
		if got := ClassifyError(tt.code, tt.title); got != tt.want {
			t.Errorf("ClassifyError(%d, %q) = %s, want %s", tt.code, tt.title, got, tt.want)
		}
	}
}

func BenchmarkSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, cloudSent)
	}))
	defer srv.Close()
	s, err := New(providers[Provider360dialog].config(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Send(ctx, templateMsg); err != nil {
			b.Fatal(err)
		}
	}
}
