package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// dashboardFlashes are the confirmations the dashboard shows after a POST
// redirected to it with ?done=… (fixed texts: nothing from the query is
// shown).
var dashboardFlashes = map[string]string{
	"resolved":       "The alert is marked resolved.",
	"verify_started": "The ledger verification started; its result shows below when it is done.",
	"verifying":      "A ledger verification is already running; its result shows below when it is done.",
}

// handleDashboard is the console's start page.
func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := s.svc.Dashboard(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	cats, err := s.svc.Categories(r.Context(), "en")
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m := dashboardModel(d, cats)
	if m.Ops, err = s.opsModel(r.Context(), d.EntryPoints); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m.Layout = s.adminLayout(r, "Dashboard", "dashboard")
	m.Layout.Flash = dashboardFlashes[r.URL.Query().Get("done")]
	m.Ledger.Running = s.ledger.busy()
	if m.Outbox.Unknown > 0 {
		doubt, err := s.svc.MessagesInDoubt(r.Context(), 10)
		if err != nil {
			s.failAdmin(w, r, err)
			return
		}
		for _, u := range doubt {
			m.Outbox.InDoubt = append(m.Outbox.InDoubt, views.DashboardInDoubt{
				ContactURL: "/admin/contacts/" + strconv.FormatInt(u.ContactID, 10),
				Label:      "Message " + strconv.FormatInt(u.ID, 10) + " of " + consoleTime(u.CreatedAt)})
		}
	}
	render(w, r, http.StatusOK, views.DashboardPage(m))
}

var contactStatusLabels = map[string]string{"active": "Active", "pending_terms": "Awaiting terms", "undeliverable": "Undeliverable"}

var alertLabels = map[string]string{
	"template":    "Template problem",
	"account":     "Account or payment problem: sending is paused",
	"dead_letter": "Message given up after its retries",
	"regret_rate": "Entry point with a high regret rate",
	"quality":     "WhatsApp flagged the number or restricted the account: business-initiated sends are paused",
}

// dashboardModel maps the domain's numbers to the page's.
func dashboardModel(d consent.Dashboard, cats []consent.Category) views.DashboardModel {
	var m views.DashboardModel
	for _, st := range contactStatuses {
		var n int64
		for _, c := range d.Contacts {
			if c.Key == string(st) {
				n = c.N
			}
		}
		m.ContactsTotal += n
		m.Contacts = append(m.Contacts, views.DashboardCount{Key: string(st), Label: contactStatusLabels[string(st)], N: n})
	}
	for _, c := range cats {
		row := views.DashboardConsentRow{Category: c.Name, Slug: c.Slug}
		for _, cc := range d.Consents {
			if cc.Category != c.Slug {
				continue
			}
			switch cc.State {
			case consent.OptedIn:
				row.OptedIn = cc.N
			case consent.OptedOut:
				row.OptedOut = cc.N
			case consent.Pending:
				row.Pending = cc.N
			}
		}
		m.Consents = append(m.Consents, row)
	}
	m.Chart = views.ChartModel{ID: "activity-chart", Title: fmt.Sprintf("Opt-ins and opt-outs per day, last %d days", len(d.Days))}
	for _, day := range d.Days {
		m.Chart.Days = append(m.Chart.Days, views.ChartDay{Date: day.Day.Format(time.DateOnly), Label: day.Day.Format("Jan 2"),
			OptIns: day.OptIns, OptOuts: day.OptOuts})
	}
	for _, src := range d.Sources {
		m.Sources = append(m.Sources, views.DashboardSourceRow{Source: string(src.Source), OptIns: src.OptIns, OptOuts: src.OptOuts})
	}
	for _, e := range d.EntryPoints {
		row := views.DashboardFunnelRow{Code: e.Code, Name: e.Name, Scans: int64(e.Scans), Conversations: int64(e.Conversations),
			Accepted: int64(e.Accepted), Rate: "–"}
		if e.Conversations > 0 {
			row.Rate = strconv.Itoa(e.Accepted*100/e.Conversations) + " %"
		}
		m.Funnel = append(m.Funnel, row)
	}
	o := d.Outbox
	m.Outbox = views.DashboardOutbox{Queued: o.Queued(), Retrying: o.Retrying, Dead: o.Dead(), Failed: o.ByStatus[consent.StatusFailed],
		Sent:    o.ByStatus[consent.StatusSent] + o.ByStatus[consent.StatusDelivered] + o.ByStatus[consent.StatusRead],
		Unknown: o.ByStatus[consent.StatusUnknown]}
	for _, f := range o.Failures {
		status, class, _ := strings.Cut(f.Key, "/")
		if class == "" {
			class = "reported by the provider"
		}
		m.Outbox.Failures = append(m.Outbox.Failures, views.DashboardCount{Key: status, Label: status + ": " + class, N: f.N})
	}
	m.InboxPending, m.InboxFailed, m.InboxIgnored = d.InboxPending, d.InboxFailed, d.InboxIgnored
	for _, n := range d.IgnoredInbox {
		m.IgnoredInbox = append(m.IgnoredInbox, views.DashboardInboxNote{ID: n.ID, At: consoleTime(n.ReceivedAt), Reason: n.Reason})
	}
	for _, a := range d.Alerts {
		label := alertLabels[a.Kind]
		if label == "" {
			label = a.Kind
		}
		m.Alerts = append(m.Alerts, views.DashboardAlert{ID: a.ID, Kind: a.Kind, Label: label, Code: a.Code, Title: a.Title, At: consoleTime(a.At)})
	}
	for _, c := range d.Stats.Alerts {
		m.AlertsTotal += c.N
	}
	m.Ledger = ledgerCard(d.LastCheck)
	return m
}

func ledgerCard(c consent.LedgerCheck) views.LedgerCardModel {
	if c.At.IsZero() {
		return views.LedgerCardModel{}
	}
	return views.LedgerCardModel{Ran: true, At: consoleTime(c.At), OK: c.OK(), Verified: c.Verified, FirstBad: c.FirstBad,
		Reason: c.Reason, HeadID: c.HeadID, HeadHash: c.HeadHash}
}

// handleAlertResolve marks a provider alert resolved, as the admin's act.
func (s *Server) handleAlertResolve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.failAdmin(w, r, consent.ErrNotFound)
		return
	}
	a, err := s.svc.ResolveAlert(r.Context(), id)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "alert_resolve", "alert:"+strconv.FormatInt(a.ID, 10),
		map[string]any{"kind": a.Kind, "code": a.Code, "title": a.Title, "created_at": a.At})
	http.Redirect(w, r, "/admin/?done=resolved", http.StatusSeeOther)
}
