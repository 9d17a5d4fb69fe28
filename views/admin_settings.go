package views

// AdminSettingsModel is the settings page: the form, grouped, with the
// environment's value beside each field, and the latest changes.
type AdminSettingsModel struct {
	Layout  AdminLayoutModel
	Groups  []SettingsGroup
	Invalid bool // the submitted form had errors; nothing was saved
	History []SettingsHistoryRow
}

// SettingsGroup is one card of the settings form.
type SettingsGroup struct {
	ID     string
	Title  string
	Intro  string
	Fields []SettingsField
}

// SettingsField is one input of the settings form.
type SettingsField struct {
	Key     string // the form field name and setting key
	Label   string
	Hint    string
	Kind    string // "text", "number", "email", "select", "textarea"
	Options []string
	Value   string
	Default string // the environment's value; "" when it gives none
	Saved   bool   // the value in force was saved by an admin
	Error   string
	Step    string // for numbers
	// Placeholder shows, in an empty text, the built-in text that applies.
	Placeholder string
}

// SettingsHistoryRow is one past change of a setting.
type SettingsHistoryRow struct {
	At    string
	Actor string
	Key   string
	Old   string
	New   string
}
