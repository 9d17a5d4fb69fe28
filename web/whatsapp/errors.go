package whatsapp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/optin/optin/consent"
)

// envelope is every answer shape the providers use, success and error, so
// one decode tells what happened. Providers are not consistent about which
// error shape they use (360dialog answers some auth errors in the "meta"
// shape), so all shapes are read whatever the provider.
type envelope struct {
	Contacts []struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`

	// Cloud API: {"error":{"message","type","code","error_data":{"details"},"error_subcode","fbtrace_id"}}
	Error *struct {
		Message   string  `json:"message"`
		Type      string  `json:"type"`
		Code      flexInt `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
	// On-premise: {"errors":[{"code","title","details"}]}
	Errors []struct {
		Code    flexInt `json:"code"`
		Title   string  `json:"title"`
		Details string  `json:"details"`
	} `json:"errors"`
	// On-premise gateways: {"meta":{"success":false,"http_code","developer_message"}};
	// on success the same key holds {"api_status","version"}.
	Meta *struct {
		Success          *bool   `json:"success"`
		HTTPCode         flexInt `json:"http_code"`
		DeveloperMessage string  `json:"developer_message"`
	} `json:"meta"`
}

// decodeEnvelope reads a provider answer; parsed is false when it is not a
// JSON object (an HTML error page from a proxy, an empty body, null).
func decodeEnvelope(body []byte) (env envelope, parsed bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return envelope{}, false
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, false
	}
	return env, true
}

// failed reports whether an answer describes an error, so that a 200 with
// an error body (some gateways do that) is not taken for a sent message.
func (e *envelope) failed() bool {
	return e.Error != nil || len(e.Errors) > 0 || (e.Meta != nil && e.Meta.Success != nil && !*e.Meta.Success)
}

// maxTitle bounds ProviderError.Title: it is stored with the message and
// shown to admins, and a title is a label, not a report.
const maxTitle = 120

// providerError turns an answer into a *consent.ProviderError. The code is
// the one from the body when there is one, else the HTTP status. scrub
// lists what was sent that must not come back in the title, in case the
// provider quotes it.
func (c *client) providerError(status int, header http.Header, env envelope, parsed bool, scrub []string) *consent.ProviderError {
	var (
		code  int
		title string
		hints []string // texts searched for "structure unavailable", never stored
	)
	if parsed {
		switch {
		case env.Error != nil:
			code, title = int(env.Error.Code), env.Error.Message
			if title == "" {
				title = env.Error.Type
			}
			hints = []string{env.Error.Message, env.Error.ErrorData.Details}
		case len(env.Errors) > 0:
			code, title = int(env.Errors[0].Code), env.Errors[0].Title
			hints = []string{env.Errors[0].Title, env.Errors[0].Details}
		case env.Meta != nil && env.Meta.Success != nil && !*env.Meta.Success:
			code, title = int(env.Meta.HTTPCode), env.Meta.DeveloperMessage
			hints = []string{env.Meta.DeveloperMessage}
		}
	}
	fromBody := code != 0
	if !fromBody {
		code = status
	}
	class := consent.ClassifyCode(code)
	if fromBody && class == consent.ErrRejected {
		// A code optin has no rule for (Meta's 131000 "Something went
		// wrong", a gateway's own numbers) says less than the status it
		// came with: a 5xx or 429 is still worth retrying, a 401 still
		// means the credentials.
		if byStatus := consent.ClassifyCode(status); byStatus != consent.ErrRejected {
			class = byStatus
		}
	}
	for _, h := range hints {
		if isStructureUnavailable(h) {
			class = consent.ErrTemplate
			break
		}
	}
	title = safeTitle(title, append(scrub, c.token))
	if title == "" {
		title = http.StatusText(status)
	}
	if title == "" {
		title = "HTTP " + strconv.Itoa(status)
	}
	return &consent.ProviderError{
		Class:      class,
		HTTPStatus: status,
		Code:       code,
		Title:      title,
		RetryAfter: retryAfter(header.Get("Retry-After"), c.now()),
	}
}

// isStructureUnavailable recognises the on-premise client's refusal of a
// template ("structure unavailable: Client could not display the highly
// structured message"). It arrives as code 500, which alone would read as a
// passing server error and be retried forever.
func isStructureUnavailable(s string) bool {
	return strings.Contains(strings.ToLower(s), "structure unavailable")
}

// ClassifyError classifies an error reported with a code and a title, as in
// a failed status webhook. It is consent.ClassifyCode plus the one case
// decided by the title: code 500 "structure unavailable" is a template
// problem, not a server error.
func ClassifyError(code int, title string) consent.ErrorClass {
	if isStructureUnavailable(title) {
		return consent.ErrTemplate
	}
	return consent.ClassifyCode(code)
}

// maxRetryAfter bounds a Retry-After: a provider asking for a week would
// otherwise park the message beyond its dead-letter deadline unannounced.
const maxRetryAfter = 24 * time.Hour

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// safeTitle makes a provider's error text fit for ProviderError.Title,
// which is stored and shown to admins: the scrub strings (what was sent)
// and anything that looks like a phone number are cut out, control
// characters and runs of space are collapsed, and the length is capped.
func safeTitle(s string, scrub []string) string {
	// Longest first, so "+4915…" goes as a whole before "4915…" would
	// leave its "+" behind.
	scrub = slices.Clone(scrub)
	slices.SortFunc(scrub, func(a, b string) int { return len(b) - len(a) })
	for _, v := range scrub {
		// Shorter strings ("en", "Hi") would cut words out of the title
		// and are no risk on their own.
		if len(v) >= 3 {
			s = strings.ReplaceAll(s, v, "…")
		}
	}
	s = maskNumbers(s)
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	return clip(s, maxTitle)
}

// sensitive lists the parts of m that must never reach a title: the
// recipient and everything written for them.
func sensitive(m *consent.Message) []string {
	out := []string{m.To, "+" + m.To, m.Text}
	if t := m.Template; t != nil {
		out = append(out, t.BodyParams...)
		for _, b := range t.Buttons {
			out = append(out, b.Payload, b.Text)
		}
	}
	if in := m.Interactive; in != nil {
		out = append(out, in.Header, in.Body, in.Footer)
		for _, b := range in.Buttons {
			out = append(out, b.ID, b.Title)
		}
	}
	for _, c := range m.Contacts {
		out = append(out, c.Name, c.Phone, c.Email, c.URL)
	}
	return out
}

// maskNumbers replaces runs of 7 or more digits, the shortest a phone
// number or wa_id gets, while keeping WhatsApp's 6-digit error codes.
func maskNumbers(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j-i >= 7:
			b.WriteString("…")
		case j > i:
			b.WriteString(s[i:j])
		default:
			// Bytes, not runes: only ASCII digits are special, so
			// multi-byte characters pass through intact.
			b.WriteByte(s[i])
			j = i + 1
		}
		i = j
	}
	return b.String()
}

// clip cuts s to at most n runes, on a rune boundary.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// flexInt reads a JSON number or a numeric string: gateways are not
// consistent about quoting error codes.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// A code that is no number is no code; the status speaks instead.
		*f = 0
		return nil
	}
	if n > 1<<31-1 || n < -(1<<31) {
		n = 0
	}
	*f = flexInt(n)
	return nil
}
