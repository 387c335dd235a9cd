package config

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/cdc-sentinel/cdc-sentinel/internal/dsn"
)

// Vault fetches a database's credentials from HashiCorp Vault: a static
// secret from KV v2, or dynamic credentials from the database secrets
// engine.
type Vault struct {
	Address   string     `yaml:"address"`
	Namespace string     `yaml:"namespace,omitempty"`
	TLSConfig *TLSConfig `yaml:"tls_config,omitempty"`
	Auth      VaultAuth  `yaml:"auth"`
	// KV reads a KV v2 secret holding a whole DSN or a username and password.
	KV *VaultKV `yaml:"kv,omitempty"`
	// Database asks the database secrets engine for dynamic credentials.
	Database *VaultDatabase `yaml:"database,omitempty"`
	// DSNTemplate builds the DSN from a username and password, e.g.
	// "postgres://{{ .Username }}:{{ .Password }}@db:5432/app".
	DSNTemplate Secret `yaml:"dsn_template,omitempty"`
}

// VaultAuth says how cdc-sentinel logs in to Vault.
type VaultAuth struct {
	Token      Secret           `yaml:"token,omitempty"`
	TokenFile  string           `yaml:"token_file,omitempty"`
	AppRole    *VaultAppRole    `yaml:"approle,omitempty"`
	Kubernetes *VaultKubernetes `yaml:"kubernetes,omitempty"`
}

// VaultAppRole logs in with a role and secret id.
type VaultAppRole struct {
	Mount        string `yaml:"mount,omitempty"`
	RoleID       string `yaml:"role_id"`
	SecretID     Secret `yaml:"secret_id,omitempty"`
	SecretIDFile string `yaml:"secret_id_file,omitempty"`
}

// VaultKubernetes logs in with the pod's service account token.
type VaultKubernetes struct {
	Mount     string `yaml:"mount,omitempty"`
	Role      string `yaml:"role"`
	TokenFile string `yaml:"token_file,omitempty"`
}

// VaultKV names a KV v2 secret.
type VaultKV struct {
	Mount       string `yaml:"mount,omitempty"`
	Path        string `yaml:"path"`
	DSNKey      string `yaml:"dsn_key,omitempty"`
	UsernameKey string `yaml:"username_key,omitempty"`
	PasswordKey string `yaml:"password_key,omitempty"`
	// RefreshInterval is how often the secret is read again, so a rotated
	// static password is picked up without a reload.
	RefreshInterval time.Duration `yaml:"refresh_interval,omitempty"`
}

// VaultDatabase names a role of the database secrets engine.
type VaultDatabase struct {
	Mount string `yaml:"mount,omitempty"`
	Role  string `yaml:"role"`
}

func (vc *Vault) applyDefaults() {
	if vc.KV != nil {
		if vc.KV.Mount == "" {
			vc.KV.Mount = "secret"
		}
		if vc.KV.UsernameKey == "" {
			vc.KV.UsernameKey = "username"
		}
		if vc.KV.PasswordKey == "" {
			vc.KV.PasswordKey = "password"
		}
		if vc.KV.RefreshInterval == 0 {
			vc.KV.RefreshInterval = 5 * time.Minute
		}
	}
	if vc.Database != nil && vc.Database.Mount == "" {
		vc.Database.Mount = "database"
	}
	if a := vc.Auth.AppRole; a != nil && a.Mount == "" {
		a.Mount = "approle"
	}
	if k := vc.Auth.Kubernetes; k != nil {
		if k.Mount == "" {
			k.Mount = "kubernetes"
		}
		if k.TokenFile == "" {
			k.TokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
		}
	}
}

func (vc *Vault) validate(v *validator, p, driver string) {
	if vc.Address == "" {
		v.fail(p+".address", "required")
	}
	vc.Auth.validate(v, p+".auth")
	vc.validateCredentials(v, p, driver)
	vc.TLSConfig.validate(v, p+".tls_config")
}

// validate checks that one way to log in is configured, and complete.
func (a *VaultAuth) validate(v *validator, p string) {
	n := 0
	for _, set := range []bool{a.Token != "", a.TokenFile != "", a.AppRole != nil, a.Kubernetes != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.fail(p, "exactly one of token, token_file, approle and kubernetes is required")
	}
	if r := a.AppRole; r != nil {
		if r.RoleID == "" {
			v.fail(p+".approle.role_id", "required")
		}
		if (r.SecretID == "") == (r.SecretIDFile == "") {
			v.fail(p+".approle", "exactly one of secret_id and secret_id_file is required")
		}
	}
	if k := a.Kubernetes; k != nil && k.Role == "" {
		v.fail(p+".kubernetes.role", "required")
	}
}

// validateCredentials checks where the credentials come from (a KV
// secret or the database secrets engine) and how they become a DSN.
func (vc *Vault) validateCredentials(v *validator, p, driver string) {
	if (vc.KV == nil) == (vc.Database == nil) {
		v.fail(p, "exactly one of kv and database is required")
	}
	if vc.KV != nil {
		if vc.KV.Path == "" {
			v.fail(p+".kv.path", "required")
		}
		if vc.KV.RefreshInterval < 0 {
			v.fail(p+".kv.refresh_interval", "must be positive")
		}
		if vc.KV.DSNKey == "" && vc.DSNTemplate == "" {
			v.fail(p+".dsn_template", "required unless kv.dsn_key names a key holding the whole DSN")
		}
	}
	if vc.Database != nil {
		if vc.Database.Role == "" {
			v.fail(p+".database.role", "required")
		}
		if vc.DSNTemplate == "" {
			v.fail(p+".dsn_template", "required with database credentials")
		}
	}
	if vc.DSNTemplate != "" {
		// Render with placeholders now, so that a typo such as
		// {{ .Usename }} fails check-config instead of every fetch later.
		if err := CheckDSNTemplate(vc.DSNTemplate.Reveal(), driver); err != nil {
			v.fail(p+".dsn_template", "%v", err)
		}
	}
}

// DSNTemplateFuncs are the functions a dsn_template may call besides
// text/template's own: urlescape for user info in a URL DSN, odbcescape
// for a value in go-mssqldb's odbc: DSN form.
var DSNTemplateFuncs = template.FuncMap{
	// QueryEscape writes a space as "+", which user info does not decode.
	"urlescape":  func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") },
	"odbcescape": func(s string) string { return "{" + strings.ReplaceAll(s, "}", "}}") + "}" },
}

// DSNTemplateData is what a dsn_template is rendered with.
type DSNTemplateData struct{ Username, Password string }

// ParseDSNTemplate parses a dsn_template with DSNTemplateFuncs.
func ParseDSNTemplate(text string) (*template.Template, error) {
	t, err := template.New("dsn_template").Option("missingkey=error").Funcs(DSNTemplateFuncs).Parse(text)
	if err != nil {
		// The parser's message quotes only the offending token.
		return nil, fmt.Errorf("not a valid template: %w", err)
	}
	return t, nil
}

// CheckDSNTemplate parses text, renders it with placeholder credentials
// and, for a known driver, parses the result as serve will parse the DSN
// Vault's credentials make. Its errors name fields and functions, never
// values.
func CheckDSNTemplate(text, driver string) error {
	t, err := ParseDSNTemplate(text)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := t.Execute(&b, DSNTemplateData{Username: "user", Password: "password"}); err != nil {
		return fmt.Errorf("cannot be rendered: %w", err)
	}
	if driver == DriverPostgres || driver == DriverSQLServer {
		if _, err := dsn.Parse(driver, b.String()); err != nil {
			return fmt.Errorf("rendered with placeholder credentials, is not a valid %s DSN", driver)
		}
	}
	return nil
}
