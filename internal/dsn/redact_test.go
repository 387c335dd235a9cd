package dsn

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRedactRemovesEveryCredential(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db", "postgres://u:xxxxx@h:5432/db"},
		{"postgres://u:p@ss@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u:p%20ss%40x@h/db", "postgres://u:xxxxx@h/db"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"red:PASSWORD@127.0.0.1:8083", "red:xxxxx@127.0.0.1:8083"},
		{`"red:PASSWORD@127.0.0.1:8083" is not an http or https URL`, `"red:xxxxx@127.0.0.1:8083" is not an http or https URL`},
		{"url=red:PASSWORD@127.0.0.1:8083 level=warn", "url=red:xxxxx@127.0.0.1:8083 level=warn"},
		{"http://u:s:e:c@h:4318/v1", "http://u:xxxxx@h:4318/v1"},
		{"sqlserver://sa:secret@h:1433?database=d", "sqlserver://sa:xxxxx@h:1433?database=d"},
		{"sqlserver://h:1433?database=d&password=secret&x=1", "sqlserver://h:1433?database=d&password=xxxxx&x=1"},
		{"postgres://h/db?sslpassword=secret", "postgres://h/db?sslpassword=xxxxx"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=xxxxx dbname=d"},
		{`host=h password='se cr\'et' dbname=d`, "host=h password=xxxxx dbname=d"},
		{`host=h password=se\ cret dbname=d`, "host=h password=xxxxx dbname=d"},
		{"server=h;user id=sa;password=se cret=x;database=d", "server=h;user id=sa;password=xxxxx;database=d"},
		{"Server=h;Pwd={se;}}cret};Database=d", "Server=h;Pwd=xxxxx;Database=d"},
		{`server=h;password="se;""cret";database=d`, "server=h;password=xxxxx;database=d"},
		{"jdbc:sqlserver://h:1433;user=sa;password=secret;encrypt=true", "jdbc:sqlserver://h:1433;user=sa;password=xxxxx;encrypt=true"},
		{`{"password":"se\"cret","user":"u"}`, `{"password":xxxxx,"user":"u"}`},
		{"password: secret", "password: xxxxx"},
		{"basic_auth.password_file: password and password_file are mutually exclusive", "basic_auth.password_file: password and password_file are mutually exclusive"},
		{"mail admin@example.com", "mail admin@example.com"},
		{"", ""},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// The two markers put in every password: alphanumeric, so no escaping
// changes them, and no other part of the text can pass for them.
const (
	marker1 = "Q7zK"
	marker2 = "W9xJ"
)

// awkward are the characters a password may hold that URL and DSN
// syntaxes give a meaning to.
const awkward = "@:/?#%'\"\\ ;={}&$!*+,[]()<>`~^|ab1"

// rawSafe are the awkward characters a user may leave unescaped in a
// URL's user information and still have a token a reader can tell apart:
// no blank, double quote, "/", "?" or "#" (those make no URL at all).
const rawSafe = "@:%';={}&$!*+~^|(),[]ab1"

// dsnForm writes a DSN or URL carrying password pw; ok is false when pw
// cannot be written in that form.
type dsnForm struct {
	name  string
	write func(pw string) (string, bool)
}

func libpqQuote(pw string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'"
}

func libpqEscape(pw string) string {
	var b strings.Builder
	for _, r := range pw {
		if strings.ContainsRune(` \'"`+"\t", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func onlyOf(s, set string) bool {
	for _, r := range s {
		if !strings.ContainsRune(set, r) && !strings.ContainsRune(marker1+marker2, r) {
			return false
		}
	}
	return true
}

var dsnForms = []dsnForm{
	{"URL, percent-encoded", func(pw string) (string, bool) {
		return (&url.URL{Scheme: "postgres", User: url.UserPassword("user", pw), Host: "db.example:5432", Path: "/app", RawQuery: "sslmode=disable"}).String(), true
	}},
	{"URL, raw", func(pw string) (string, bool) {
		return "postgres://user:" + pw + "@db.example:5432/app?sslmode=disable", onlyOf(pw, rawSafe)
	}},
	{"URL without scheme", func(pw string) (string, bool) {
		return "red:" + pw + "@127.0.0.1:8083", onlyOf(pw, rawSafe)
	}},
	{"sqlserver URL", func(pw string) (string, bool) {
		return (&url.URL{Scheme: "sqlserver", User: url.UserPassword("sa", pw), Host: "mssql:1433", RawQuery: "database=inventory"}).String(), true
	}},
	{"sqlserver URL, password in the query", func(pw string) (string, bool) {
		return "sqlserver://mssql:1433?database=inventory&password=" + url.QueryEscape(pw) + "&encrypt=true", true
	}},
	{"libpq, quoted", func(pw string) (string, bool) {
		return "host=db.example user=app password=" + libpqQuote(pw) + " dbname=app", true
	}},
	{"libpq, escaped", func(pw string) (string, bool) {
		return "host=db.example user=app password=" + libpqEscape(pw) + " dbname=app", true
	}},
	{"ADO, braces", func(pw string) (string, bool) {
		return "server=mssql;user id=sa;password={" + strings.ReplaceAll(pw, "}", "}}") + "};database=inventory", true
	}},
	{"ADO, double quotes", func(pw string) (string, bool) {
		return `Server=mssql;User Id=sa;Password="` + strings.ReplaceAll(pw, `"`, `""`) + `";Database=inventory`, true
	}},
	{"ADO, bare", func(pw string) (string, bool) {
		ok := !strings.ContainsAny(pw, ";\r\n") && !strings.ContainsAny(pw[:1], `"'{ `)
		return "server=mssql;user id=sa;pwd=" + pw + ";database=inventory", ok
	}},
	{"JDBC", func(pw string) (string, bool) {
		return "jdbc:sqlserver://mssql:1433;user=sa;password={" + strings.ReplaceAll(pw, "}", "}}") + "};encrypt=true", true
	}},
}

// contexts are the texts a DSN is printed in before it is redacted: as
// is, and inside a driver's error. Quoting (%q, JSON, logfmt) comes after
// redaction: config errors redact their arguments first, the log handler
// redacts each value before it is encoded.
var contexts = []func(string) string{
	func(s string) string { return s },
	func(s string) string {
		return fmt.Sprintf("cannot parse `%s`: failed to parse as DSN (invalid dsn)", s)
	},
	func(s string) string { return fmt.Sprintf("dial %s: connection refused", s) },
}

// checkRedacted fails when the redacted text still shows pw or either
// marker inside it.
func checkRedacted(t *testing.T, what, text, pw string) {
	t.Helper()
	got := Redact(text)
	if strings.Contains(got, marker1) || strings.Contains(got, marker2) || strings.Contains(got, pw) {
		t.Errorf("%s: the password %q shows through\n  text %s\nredacted %s", what, pw, text, got)
	}
}

// randomPassword is awkward characters around the two markers.
func randomPassword(r *rand.Rand) string {
	part := func() string {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = awkward[r.IntN(len(awkward))]
		}
		return string(b)
	}
	return part() + marker1 + part() + marker2 + part()
}

// Random passwords of awkward characters, in every form and every place a
// DSN is printed: the redacted text never shows them. The seed is printed
// so that a failure can be replayed (CDC_REDACT_SEED).
func TestRedactRandomPasswordsInEveryForm(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CDC_REDACT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (CDC_REDACT_SEED=%d replays it)", seed, seed)
	r := rand.New(rand.NewPCG(seed, seed))
	tried := 0
	for range 3000 {
		pw := randomPassword(r)
		for _, f := range dsnForms {
			s, ok := f.write(pw)
			if !ok {
				continue
			}
			for i, c := range contexts {
				tried++
				checkRedacted(t, fmt.Sprintf("%s, context %d, seed %d", f.name, i, seed), c(s), pw)
			}
		}
		if t.Failed() {
			return
		}
	}
	if tried < 10000 {
		t.Fatalf("only %d texts tried", tried)
	}
}

func FuzzRedact(f *testing.F) {
	f.Add(uint8(0), "p@ss word", "")
	f.Add(uint8(5), `it's`, `\`)
	f.Add(uint8(7), "}};", "{")
	f.Fuzz(func(t *testing.T, form uint8, a, b string) {
		if strings.ContainsAny(a+b, "\x00\r\n") || !utf8.ValidString(a+b) {
			return
		}
		pw := a + marker1 + b + marker2
		fm := dsnForms[int(form)%len(dsnForms)]
		if s, ok := fm.write(pw); ok {
			for _, c := range contexts {
				checkRedacted(t, fm.name, c(s), pw)
			}
		}
	})
}
