package views

// AdminLayoutModel is the admin console's page frame: the navigation, the
// signed-in user and the sign-out button. Section names the current nav
// entry ("dashboard", "contacts", …). CanChange is false for viewers, so that
// pages can hide buttons a viewer would only get a 403 from.
type AdminLayoutModel struct {
	Title        string
	Section      string
	BusinessName string
	UserEmail    string
	Role         string
	CanChange    bool
	Sandbox      bool
	Flash        string // a one-line confirmation of what just happened
	// Provider is the WhatsApp provider in use (sandbox, 360dialog, cloud,
	// v1) and BaseURL the address links and QR codes point to; LinkWarning
	// says why those links can't work for people, when they can't.
	Provider    string
	BaseURL     string
	LinkWarning string
}

// AdminNavItem is one entry of the console's navigation.
type AdminNavItem struct {
	Section   string
	Label     string
	Href      string
	AdminOnly bool // hidden from viewers, who would only get a 403
}

// AdminNav is the console's navigation, in order.
var AdminNav = []AdminNavItem{
	{"dashboard", "Dashboard", "/admin/", false},
	{"contacts", "Contacts", "/admin/contacts", false},
	{"events", "Events", "/admin/events", false},
	{"categories", "Categories", "/admin/categories", false},
	{"wording", "Wording", "/admin/wording", false},
	{"entry_points", "Entry points", "/admin/entry-points", false},
	{"csv", "Import / export", "/admin/import", true},
	{"settings", "Settings", "/admin/settings", false},
	{"users", "Users", "/admin/users", false},
	{"api_keys", "API keys", "/admin/api-keys", false},
	{"audit", "Audit log", "/admin/audit", false},
}

// AdminLoginModel is the sign-in page.
type AdminLoginModel struct {
	BusinessName string
	Email        string
	Next         string // where to go after signing in, inside /admin
	Error        string
	// NoUsers is set while nobody can sign in: the page then says how to
	// create the first admin.
	NoUsers bool
}

// AdminErrorModel is the console's error page. Layout is empty when nobody
// is signed in.
type AdminErrorModel struct {
	Layout  AdminLayoutModel
	Code    int
	Title   string
	Message string
}

// AdminConfirmModel is the console's confirmation step before a change: the
// page says what will happen and posts Hidden and confirm=yes to Action.
type AdminConfirmModel struct {
	Layout      AdminLayoutModel
	Title       string
	Subject     string // shown under the title in monospace, e.g. a number; optional
	Message     string // what happens
	Consequence string // what is recorded or what stays; optional
	Action      string // the form's action URL
	Hidden      []HiddenField
	Button      string
	Danger      bool // the change cannot be undone: a red button
	CancelURL   string
}

// HiddenField is a form field the confirmation page posts back.
type HiddenField struct{ Name, Value string }
