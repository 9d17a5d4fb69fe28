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
}

// AdminNavItem is one entry of the console's navigation.
type AdminNavItem struct {
	Section string
	Label   string
	Href    string
}

// AdminNav is the console's navigation, in order.
var AdminNav = []AdminNavItem{
	{"dashboard", "Dashboard", "/admin/"},
	{"contacts", "Contacts", "/admin/contacts"},
	{"events", "Events", "/admin/events"},
	{"categories", "Categories", "/admin/categories"},
	{"wording", "Wording", "/admin/wording"},
	{"entry_points", "Entry points", "/admin/entry-points"},
	{"settings", "Settings", "/admin/settings"},
	{"users", "Users", "/admin/users"},
	{"api_keys", "API keys", "/admin/api-keys"},
	{"audit", "Audit log", "/admin/audit"},
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
