package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// EntryChoice is an entry point a sandbox number can write in through.
type EntryChoice struct {
	Code      string // "HELLO"
	Name      string // "Default"
	StartText string // what its link prefills, "START HELLO-AB3D"
}

// Messages of the start form.
const (
	startNumberProblem        = "Type a number in international format, with its country code, such as +4915112345678."
	startUndeliverableProblem = "Numbers ending in 0000 are not on WhatsApp in the sandbox, so they cannot write."
	startCodeProblem          = "Choose one of the entry points."
)

// handleStart writes in through an entry point: the number sends the entry
// point's start text through the real webhook, as a person does after
// scanning its QR code or opening its link, and the page opens its chat.
func (p *Phone) handleStart(w http.ResponseWriter, r *http.Request) {
	if p.opt.EntryPoints == nil {
		http.NotFound(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	entries, err := p.opt.EntryPoints(r.Context())
	if err != nil {
		p.log.Error("sandbox entry points", "error", err)
		if wantsJSON(r) {
			writeJSONError(w, http.StatusInternalServerError, "internal", "The entry points could not be loaded.")
			return
		}
		http.Error(w, "The entry points could not be loaded.", http.StatusInternalServerError)
		return
	}
	typed, code := r.PostForm.Get("number"), strings.TrimSpace(r.PostForm.Get("code"))
	form := newStartForm(entries, typed, code)
	waID, ok := NormalizeNumber(typed)
	switch {
	case !ok:
		form.NumberError = startNumberProblem
	case undeliverable(waID):
		form.NumberError = startUndeliverableProblem
	}
	choice, found := findEntry(entries, code)
	if !found {
		form.CodeError = startCodeProblem
	}
	if form.NumberError != "" || form.CodeError != "" {
		if wantsJSON(r) {
			writeJSONError(w, http.StatusUnprocessableEntity, "invalid_start", strings.TrimSpace(form.NumberError+" "+form.CodeError))
			return
		}
		m := p.chatList()
		m.Start = &form
		p.render(w, r, http.StatusUnprocessableEntity, m)
		return
	}
	b, ok := p.writeText(waID, choice.StartText)
	if !ok {
		p.unavailable(w, r)
		return
	}
	p.written(w, r, waID, b)
}

// startForm is the start form with a fresh number and the entry point code
// chosen (the default one when code is ""), or nil when there is no form to
// show. A code chosen by an entry point's link also shows its start text.
func (p *Phone) startForm(ctx context.Context, code string) *views.SandboxStartModel {
	if p.opt.EntryPoints == nil {
		return nil
	}
	entries, err := p.opt.EntryPoints(ctx)
	if err != nil {
		// The rest of the page still works.
		p.log.Error("sandbox entry points", "error", err)
		return nil
	}
	f := newStartForm(entries, p.freshNumber(), consent.DefaultEntryPoint)
	if e, ok := findEntry(entries, code); ok {
		f.Code, f.LinkText = e.Code, e.StartText
	}
	return &f
}

func newStartForm(entries []EntryChoice, number, code string) views.SandboxStartModel {
	f := views.SandboxStartModel{Number: number}
	for _, e := range entries {
		label := e.Code
		if e.Name != "" {
			label = e.Name + " (" + e.Code + ")"
		}
		f.Entries = append(f.Entries, views.SandboxEntry{Code: e.Code, Label: label})
	}
	// With no match nothing is selected, and the browser takes the first.
	if e, ok := findEntry(entries, code); ok {
		f.Code = e.Code
	}
	return f
}

// findEntry finds the entry point with code; codes are case-insensitive.
func findEntry(entries []EntryChoice, code string) (EntryChoice, bool) {
	for _, e := range entries {
		if code != "" && strings.EqualFold(e.Code, code) {
			return e, true
		}
	}
	return EntryChoice{}, false
}

// freshNumber is a German mobile number, +49151 and 8 random digits, that
// has no chat yet and is on WhatsApp: a person optin has not met.
func (p *Phone) freshNumber() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		digits := fmt.Sprintf("49151%08d", rand.IntN(100_000_000))
		if _, taken := p.chats[digits]; !taken && !undeliverable(digits) {
			return "+" + digits
		}
	}
}
