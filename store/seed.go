package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// SeedOptions says what Seed fills a database with.
type SeedOptions struct {
	Contacts int
	Events   int // at least one per contact
	// Start is when the first contact appears; the others follow at
	// regular steps over about a year.
	Start time.Time
	// Seed makes the data reproducible: the same options give the same rows.
	Seed uint64
	// Batch is how many contacts (with their events) go in one transaction.
	Batch int
	// Progress, when set, is told after each transaction.
	Progress func(contacts, events int)
}

// SeedReport is what Seed wrote.
type SeedReport struct {
	Contacts, Events, Consents int
	HeadID                     int64
	HeadHash                   string
}

// Seed fills an empty database with made-up contacts, consents and events,
// for measuring optin at size (cmd/optin-load seed). The events are a valid
// hash chain, computed with the ledger's own canonical forms, and the
// consents are derived from them as the real flows derive them, so
// VerifyLedger passes and the contact pages make sense.
//
// It is a bulk tool, not a use case: unlike the other methods it writes in
// many large transactions (Batch contacts each, with multi-row INSERTs) on
// one connection with synchronous=OFF, so a crash midway leaves a partial,
// still consistent, seed. It refuses a database that already has contacts
// or events.
func (s *DB) Seed(ctx context.Context, o SeedOptions) (SeedReport, error) {
	if o.Contacts <= 0 || o.Events < o.Contacts {
		return SeedReport{}, errors.New("store: seed: need at least one contact and one event per contact")
	}
	if o.Contacts > 10_000_000 || o.Events > 100_000_000 {
		return SeedReport{}, errors.New("store: seed: at most 10,000,000 contacts and 100,000,000 events")
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Batch <= 0 {
		o.Batch = 20_000
	}
	if err := s.lockWriter(ctx); err != nil {
		return SeedReport{}, mapErr("seed", err)
	}
	defer s.unlockWriter()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return SeedReport{}, mapErr("seed", err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM contacts) + (SELECT count(*) FROM events)`).Scan(&n); err != nil {
		return SeedReport{}, mapErr("seed", err)
	}
	if n > 0 {
		return SeedReport{}, errors.New("store: seed: the database already holds contacts or events; seed a new file")
	}
	pragmas := []string{`PRAGMA synchronous = OFF`, `PRAGMA cache_size = -1000000`, `PRAGMA temp_store = MEMORY`}
	reset := `PRAGMA synchronous = NORMAL`
	if s.pg {
		pragmas, reset = []string{`SET synchronous_commit = off`}, `RESET synchronous_commit`
	}
	for _, p := range pragmas {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return SeedReport{}, mapErr("seed", err)
		}
	}
	defer func() {
		// Back to the setting every connection has; the seed itself is
		// done (or failed) either way.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), reset)
	}()

	g, err := newSeeder(ctx, conn, o)
	if err != nil {
		return SeedReport{}, mapErr("seed", err)
	}
	for g.contact < o.Contacts {
		if err := ctx.Err(); err != nil {
			return g.rep, err
		}
		if err := g.batch(ctx, conn); err != nil {
			return g.rep, mapErr("seed", err)
		}
		if o.Progress != nil {
			o.Progress(g.rep.Contacts, g.rep.Events)
		}
	}
	return g.rep, nil
}

// seeder makes the rows, in order, one batch at a time.
type seeder struct {
	o        SeedOptions
	rng      *rand.Rand
	c        *canon
	step     time.Duration
	wordings map[string]string // lang → hash
	catIDs   []int64
	cats     []string
	contact  int // contacts made so far
	events   int // events made so far
	prev     string
	rep      SeedReport

	contacts, evs, consents [][]any // rows of the batch being built
}

var (
	seedCountries = []struct{ prefix, lang string }{
		{"+49151", "de"}, {"+34612", "es"}, {"+5511", "pt"}, {"+1415", "en"},
	}
	seedEntryPoints = []string{"HELLO", "POSTER", "SHOPQR", "MAILCAMP"}
	seedAgents      = []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
	}
	seedOptInSources = []consent.Source{consent.SourceWebForm, consent.SourceWebForm, consent.SourceWebForm,
		consent.SourceEmbed, consent.SourceLink, consent.SourceQR, consent.SourceWhatsAppReply, consent.SourceWhatsAppReply,
		consent.SourceAPI, consent.SourceImport}
	seedOptOutSources = []consent.Source{consent.SourceKeyword, consent.SourceKeyword, consent.SourcePreferenceCenter,
		consent.SourceWhatsAppReply, consent.SourceProvider}
)

func newSeeder(ctx context.Context, conn *sql.Conn, o SeedOptions) (*seeder, error) {
	g := &seeder{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6f7074696e)), c: newCanon(), prev: zeroHash,
		wordings: map[string]string{}}
	// About a year of contacts; each one's events fit before the next.
	g.step = max(365*24*time.Hour/time.Duration(o.Contacts), time.Second)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, c := range seedCountries {
		w := consent.NewWording("consent", c.lang, "Yes, send me the chosen messages on WhatsApp ("+c.lang+"). I can opt out at any time by writing STOP.")
		if _, err := tx.ExecContext(ctx, `INSERT INTO wordings (hash, kind, lang, version, text, created_at)
			SELECT ?, 'consent', ?, coalesce(max(version), 0) + 1, ?, ? FROM wordings WHERE kind = 'consent' AND lang = ?
			ON CONFLICT (hash) DO NOTHING`, w.Hash, c.lang, w.Text, ts(o.Start), c.lang); err != nil {
			return nil, err
		}
		g.wordings[c.lang] = w.Hash
	}
	for _, code := range seedEntryPoints[1:] {
		if _, err := tx.ExecContext(ctx, `INSERT INTO entry_points (code, name, categories, created_at, updated_at)
			VALUES (?, ?, 'order_updates,offers', ?, ?) ON CONFLICT (code) DO NOTHING`,
			code, "Seed "+strings.ToLower(code), ts(o.Start), ts(o.Start)); err != nil {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, slug FROM categories ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			rows.Close()
			return nil, err
		}
		g.catIDs, g.cats = append(g.catIDs, id), append(g.cats, slug)
	}
	rows.Close()
	if len(g.cats) == 0 {
		return nil, errors.New("no categories")
	}
	return g, tx.Commit()
}

// phone is contact i's number: unique, spread over four countries, the
// subscriber part a bijective scramble of i so that numbers look random.
func (g *seeder) phone(i int) (string, string) {
	c := seedCountries[i%len(seedCountries)]
	j := uint64(i / len(seedCountries))
	sub := (j*7919 + 1234567) % 100_000_000
	if c.prefix == "+1415" {
		return fmt.Sprintf("+1415%07d", 2_000_000+sub%8_000_000), c.lang
	}
	if c.prefix == "+5511" {
		return fmt.Sprintf("+55119%08d", sub), c.lang
	}
	return fmt.Sprintf("%s%08d", c.prefix, sub), c.lang
}

// batch builds and writes the next Batch contacts with their events.
func (g *seeder) batch(ctx context.Context, conn *sql.Conn) error {
	g.contacts, g.evs, g.consents = g.contacts[:0], g.evs[:0], g.consents[:0]
	end := min(g.contact+g.o.Batch, g.o.Contacts)
	for ; g.contact < end; g.contact++ {
		g.makeContact(g.contact)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := insertRows(ctx, tx, `INSERT INTO contacts (id, phone, wa_id, language, status, window_open_until, created_at,
		updated_at, entry_point, entry_valid, match_key) VALUES `, 11, g.contacts); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	if err := insertRows(ctx, tx, `INSERT INTO events (id, contact_id, type, category, state, source, occurred_at, recorded_at,
		wording_hash, lang, ip, user_agent, page_url, embed_origin, entry_point, form_version, message_id, message_text, actor,
		detail, content_hash, prev_hash, hash) VALUES `, 23, g.evs); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := insertRows(ctx, tx, `INSERT INTO consents (contact_id, category_id, state, since, source, event_id) VALUES `,
		6, g.consents); err != nil {
		return fmt.Errorf("consents: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	g.rep.Contacts += len(g.contacts)
	g.rep.Events += len(g.evs)
	g.rep.Consents += len(g.consents)
	if n := len(g.evs); n > 0 {
		g.rep.HeadID, g.rep.HeadHash = g.evs[n-1][0].(int64), g.prev
	}
	return nil
}

// makeContact adds contact i (id i+1) and its events to the batch. The
// number of events is drawn around the average still needed, so the total
// comes out exactly at Events.
func (g *seeder) makeContact(i int) {
	id := int64(i + 1)
	phone, lang := g.phone(i)
	created := g.o.Start.Add(time.Duration(i) * g.step)
	left, contactsLeft := g.o.Events-g.events, g.o.Contacts-i
	n := left
	if contactsLeft > 1 {
		avg := left / contactsLeft
		n = 1 + g.rng.IntN(2*avg-1)
		n = min(n, left-(contactsLeft-1))
	}
	gap := max(g.step/time.Duration(n+1), time.Millisecond)

	status := consent.Active
	switch r := g.rng.IntN(100); {
	case r == 0:
		status = consent.PendingTerms
	case r <= 2 && n > 1:
		status = consent.Undeliverable
	}
	src := seedOptInSources[g.rng.IntN(len(seedOptInSources))]
	entry := ""
	if src == consent.SourceWhatsAppReply || src == consent.SourceLink || src == consent.SourceQR {
		entry = seedEntryPoints[g.rng.IntN(len(seedEntryPoints))]
	}
	states := make([]consent.State, len(g.cats))
	lastEvent := make([]int64, len(g.cats))
	since := make([]string, len(g.cats))
	sources := make([]consent.Source, len(g.cats))
	at := created
	window := ""
	for k := 0; k < n; k++ {
		r := ledgerRow{contactID: id, detail: "{}"}
		r.occurredAt = ts(at)
		r.recordedAt = r.occurredAt
		cat := -1
		switch {
		case status == consent.PendingTerms:
			r.typ, r.source = string(consent.EventWindowOpened), string(consent.SourceWhatsAppReply)
			r.messageID, r.messageText = fmt.Sprintf("wamid.SEED%d.%d", id, k), "Hello"
			window = ts(at.Add(24 * time.Hour))
		case status == consent.Undeliverable && k == n-1 && k > 0:
			r.typ, r.source, r.actor = string(consent.EventUndeliverable), string(consent.SourceProvider), "error 131026"
		case k == 0:
			cat = g.rng.IntN(len(g.cats))
			g.optIn(&r, src, lang, entry, i)
		default:
			x := g.rng.IntN(10)
			// Only changes are events: an opt-in of a category not opted
			// in, an opt-out of one that is; otherwise the person just wrote.
			var pick []int
			for c := range g.cats {
				if (x < 6) == (states[c] != consent.OptedIn) {
					pick = append(pick, c)
				}
			}
			switch {
			case x >= 3 && len(pick) > 0 && x < 6:
				cat = pick[g.rng.IntN(len(pick))]
				g.optIn(&r, src, lang, entry, i)
			case x >= 6 && len(pick) > 0:
				cat = pick[g.rng.IntN(len(pick))]
				r.typ, r.state = string(consent.EventOptOut), string(consent.OptedOut)
				from := seedOptOutSources[g.rng.IntN(len(seedOptOutSources))]
				r.source = string(from)
				if from == consent.SourceWhatsAppReply || from == consent.SourceKeyword {
					r.messageID, r.messageText = fmt.Sprintf("wamid.SEED%d.%d", id, k), "STOP"
				}
			default:
				r.typ, r.source = string(consent.EventWindowOpened), string(consent.SourceWhatsAppReply)
				r.messageID, r.messageText = fmt.Sprintf("wamid.SEED%d.%d", id, k), "Thanks!"
				window = ts(at.Add(24 * time.Hour))
			}
		}
		if cat >= 0 {
			r.category = g.cats[cat]
		}
		r.id, r.prevHash = int64(g.events+1), g.prev
		r.contentHash = g.c.contentHash(&r)
		r.hash = g.c.eventHash(&r)
		g.prev = r.hash
		g.events++
		g.evs = append(g.evs, []any{r.id, r.contactID, r.typ, r.category, r.state, r.source, r.occurredAt, r.recordedAt,
			r.wordingHash, r.lang, r.ip, r.userAgent, r.pageURL, r.embedOrigin, r.entryPoint, r.formVersion, r.messageID,
			r.messageText, r.actor, r.detail, r.contentHash, r.prevHash, r.hash})
		if cat >= 0 {
			states[cat], lastEvent[cat], since[cat], sources[cat] = consent.State(r.state), r.id, r.occurredAt, consent.Source(r.source)
		}
		at = at.Add(gap)
	}
	updated := ts(at.Add(-gap))
	g.contacts = append(g.contacts, []any{id, phone, strings.TrimPrefix(phone, "+"), lang, string(status), window,
		ts(created), updated, entry, entry != "", consent.MatchKey(phone)})
	for c := range g.cats {
		if states[c] != "" {
			g.consents = append(g.consents, []any{id, g.catIDs[c], string(states[c]), since[c], string(sources[c]), lastEvent[c]})
		}
	}
}

// optIn fills r as an opt-in from src with that source's evidence.
func (g *seeder) optIn(r *ledgerRow, src consent.Source, lang, entry string, i int) {
	r.typ, r.state, r.source, r.lang = string(consent.EventOptIn), string(consent.OptedIn), string(src), lang
	r.wordingHash = sql.NullString{String: g.wordings[lang], Valid: true}
	switch src {
	case consent.SourceWebForm, consent.SourceEmbed:
		r.ip = fmt.Sprintf("203.0.%d.0/24", i%256)
		r.userAgent = seedAgents[i%len(seedAgents)]
		r.pageURL = "https://shop.example/optin?lang=" + lang
		r.formVersion = "1"
		if src == consent.SourceEmbed {
			r.embedOrigin = "https://shop.example"
		}
	case consent.SourceWhatsAppReply, consent.SourceLink, consent.SourceQR:
		r.entryPoint = entry
		r.messageID, r.messageText = fmt.Sprintf("wamid.SEED%d.in", i+1), "START "+entry
		r.detail = `{"entry_valid":"true"}`
	case consent.SourceAPI, consent.SourceImport:
		r.actor = "seed"
	}
}

// insertRows writes rows with multi-row INSERTs of up to 900 parameters,
// each statement prepared once per transaction.
func insertRows(ctx context.Context, tx *sql.Tx, head string, cols int, rows [][]any) error {
	per := max(900/cols, 1)
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var full *sql.Stmt
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args := make([]any, 0, len(chunk)*cols)
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == per {
			if full == nil {
				var err error
				if full, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", per), ",")); err != nil {
					return err
				}
				defer full.Close()
			}
			if _, err := full.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(one+",", len(chunk)), ","), args...); err != nil {
			return err
		}
	}
	return nil
}
