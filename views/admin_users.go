package views

// AdminUsersModel is the list of console users with, for admins, the forms
// to add one, change a role and revoke.
type AdminUsersModel struct {
	Layout  AdminLayoutModel
	Users   []AdminUserRow
	Form    AdminUserForm
	Created *AdminUserCreated // the user just added, with its password shown this once
	Error   string            // a change that was refused, such as demoting the last admin
}

// AdminUserRow is one console user.
type AdminUserRow struct {
	ID         string
	Email      string
	Role       string
	Created    string
	LastSignIn string
	Active     bool
	Revoked    string
	Self       bool
}

// AdminUserForm is the add-a-user form with its errors by field.
type AdminUserForm struct {
	Email  string
	Role   string
	Errors map[string]string
}

// AdminUserCreated is shown once after a user was added.
type AdminUserCreated struct {
	Email     string
	Role      string
	Password  string
	Generated bool
}

// AdminAccountModel is the change-your-password page.
type AdminAccountModel struct {
	Layout AdminLayoutModel
	Errors map[string]string
}

// AdminAPIKeysModel is the list of API keys with, for admins, the form to
// create one.
type AdminAPIKeysModel struct {
	Layout  AdminLayoutModel
	Keys    []AdminAPIKeyRow
	Form    AdminAPIKeyForm
	Created *AdminAPIKeyCreated // the key just created, shown this once
}

// AdminAPIKeyRow is one API key; the key itself is never shown again.
type AdminAPIKeyRow struct {
	ID       string
	Name     string
	Prefix   string
	Scope    string
	Created  string
	LastUsed string
	Revoked  string // "" while the key works
}

// AdminAPIKeyForm is the create-a-key form with its errors by field.
type AdminAPIKeyForm struct {
	Name   string
	Scope  string
	Errors map[string]string
}

// AdminAPIKeyCreated is shown once after a key was created.
type AdminAPIKeyCreated struct {
	Name  string
	Scope string
	Key   string
}
