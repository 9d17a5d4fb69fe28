package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// dbFiles returns the database file of e and its -wal and -shm companions.
func (e *env) dbFiles() []string {
	e.t.Helper()
	if e.db.Postgres() {
		e.t.Skip("SQLite only: reads the database files")
	}
	var seq int
	var name, file string
	if err := e.db.SQL().QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		e.t.Fatal(err)
	}
	return []string{file, file + "-wal", file + "-shm"}
}

// onDisk says which of needles one of the database files holds, and where.
func (e *env) onDisk(needles ...string) []string {
	e.t.Helper()
	var found []string
	for _, f := range e.dbFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // no -wal after a truncating checkpoint on some systems
		}
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				found = append(found, fmt.Sprintf("%q in %s", n, f[strings.LastIndex(f, "/")+1:]))
			}
		}
	}
	return found
}

// inboundText delivers a text message from waID with a profile name.
func (h *evHarness) inboundText(waID, name, text string) {
	h.t.Helper()
	h.seq++
	b, _ := json.Marshal(text)
	nb, _ := json.Marshal(name)
	h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":%s},"wa_id":"%s"}],"messages":[{"from":"%s","id":"wamid.DISK.%d","timestamp":"%d","type":"text","text":{"body":%s}}]}}]}]}`,
		nb, waID, waID, h.seq, h.clock.t.Unix(), b))
}

// TestErasureLeavesNothingOnDisk erases a contact by each path while the
// server runs and reads the database, -wal and -shm files as they are then
// (no checkpoint by the test): neither the number's digits, nor what the
// person wrote, nor their profile name may be found in any of them.
func TestErasureLeavesNothingOnDisk(t *testing.T) {
	t.Parallel()
	paths := []struct {
		name  string
		setup func(h *evHarness, waID, nameText, text string) // the contact writes text with its profile name
		erase func(h *evHarness, waID string)
	}{
		{"decline", func(h *evHarness, waID, name, text string) {
			h.inboundText(waID, name, text) // unknown number: pending terms, prompt sent
		}, func(h *evHarness, waID string) {
			h.tap(waID, consent.ButtonDeclineTerms)
		}},
		{"stop_while_terms_pending", func(h *evHarness, waID, name, text string) {
			h.inboundText(waID, name, text)
		}, func(h *evHarness, waID string) {
			h.inboundText(waID, "", "STOP")
		}},
		{"preference_center", optedInWriter, func(h *evHarness, waID string) {
			tok := h.token(contactOf(h, waID))
			if resp := h.post("/p/"+tok+"/erase", url.Values{"confirm": {"yes"}}); resp.StatusCode >= 400 {
				h.t.Fatalf("erase: %d", resp.StatusCode)
			}
		}},
		{"admin", optedInWriter, func(h *evHarness, waID string) {
			c := h.signIn(consent.RoleAdmin)
			if resp := c.post("/admin/contacts/"+strconv.FormatInt(contactOf(h, waID), 10)+"/erase", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("erase: %d", resp.StatusCode)
			}
		}},
		{"api", optedInWriter, func(h *evHarness, waID string) {
			if code, _, _ := h.api("DELETE", "/api/v1/contacts/%2B"+waID, h.writeKey("crm"), ""); code != http.StatusNoContent {
				h.t.Fatalf("erase: %d", code)
			}
		}},
		{"import_then_erase", func(h *evHarness, waID, name, text string) {
			c := h.signIn(consent.RoleAdmin)
			file := "number,category,state,date,source,evidence\n+" + waID + ",offers,opted_in,2026-05-01,paper form," + text + "\n"
			resp, _ := c.upload("people.csv", []byte(file))
			m := jobPath.FindStringSubmatch(resp.Header.Get("Location"))
			if m == nil {
				h.t.Fatalf("upload: %d", resp.StatusCode)
			}
			if resp := c.post(m[0]+"/run", nil); resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("run: %d", resp.StatusCode)
			}
			waitImport(h.t, c, m[0])
			h.inboundText(waID, name, "hello")
		}, func(h *evHarness, waID string) {
			c := h.signIn(consent.RoleAdmin)
			if resp := c.post("/admin/contacts/"+strconv.FormatInt(contactOf(h, waID), 10)+"/erase", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("erase: %d", resp.StatusCode)
			}
		}},
	}
	for i, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := newEvHarness(t)
			waID := fmt.Sprintf("49151777%05d", i+1)
			name := fmt.Sprintf("Zebulon Quux %d", i)
			text := fmt.Sprintf("my secret shoe size is %d and I live on Elm Street", 40+i)
			p.setup(h, waID, name, text)
			if len(h.onDisk(waID)) == 0 || len(h.onDisk(text)) == 0 {
				t.Fatalf("before erasure the number and text are not on disk (%v): the test would prove nothing", h.onDisk(waID, text, name))
			}
			p.erase(h, waID)
			if _, err := h.db.ContactByPhone(context.Background(), "+"+waID); err == nil {
				t.Fatal("contact still there after erasure")
			}
			if found := h.onDisk(waID, text, name); len(found) > 0 {
				t.Errorf("after erasure by %s: %s", p.name, strings.Join(found, ", "))
			}
		})
	}
}

// optedInWriter opts waID in through the form, then the person writes text.
func optedInWriter(h *evHarness, waID, name, text string) {
	h.webForm("+"+waID, "offers")
	h.inboundText(waID, name, text)
}

func contactOf(h *evHarness, waID string) int64 {
	h.t.Helper()
	c, err := h.db.ContactByPhone(context.Background(), "+"+waID)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.ID
}
