package dsn

import (
	"strings"
)

// Redacted stands in for a credential that Redact removed.
const Redacted = "xxxxx"

// passwordKeys name a credential in key=value DSNs (libpq, ADO, ODBC,
// JDBC) and URL query strings, compared without case.
var passwordKeys = []string{"password", "sslpassword", "pwd", "passwd"}

// Redact returns s, any text (an error, a log line, a configuration value),
// with every credential it carries in a URL or DSN replaced by "xxxxx".
// It is the one place that decides what a credential looks like; config
// errors, check-config, the logs, the /-/reload answer and the tracing
// settings all print through it.
//
// It removes:
//   - the password of a URL's user information, with or without a scheme
//     (postgres://u:p@h/db, red:p@127.0.0.1:8083), percent-encoded or
//     raw, an "@" or ":" in it included: the user information ends at the
//     authority's last "@";
//   - the value of a password, sslpassword, pwd or passwd key, in a URL's
//     query (?password=p&…), a libpq DSN (password=p, password='p \' q'),
//     an ADO or JDBC string (Password=p q;, Pwd={p;}}q}, password="p""q")
//     or a JSON or YAML rendering ("password": "p").
//
// It errs towards removing too much: an unquoted value runs to the next
// ";" or "&", the end of the line, or a space followed by the next key=.
func Redact(s string) string {
	if s == "" {
		return s
	}
	return redactUserinfo(redactKeyValues(s))
}

// redactKeyValues replaces the value of every password-like key.
func redactKeyValues(s string) string {
	lower := strings.ToLower(s)
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		key := matchKey(lower, i)
		if key == 0 {
			i++
			continue
		}
		// Past the key: an optional closing quote (JSON), blanks, the
		// separator, blanks.
		j := i + key
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			j++
		}
		j = skipBlanks(s, j)
		if j >= len(s) || (s[j] != '=' && s[j] != ':') {
			i += key
			continue
		}
		j = skipBlanks(s, j+1)
		end := valueEnd(s, i, j)
		if end == j {
			i = j
			continue
		}
		b.WriteString(s[last:j])
		b.WriteString(Redacted)
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchKey returns the length of a password key starting at i in lower,
// standing as a word of its own, or 0.
func matchKey(lower string, i int) int {
	if i > 0 && isWordByte(lower[i-1]) {
		return 0
	}
	for _, k := range passwordKeys {
		if strings.HasPrefix(lower[i:], k) && (i+len(k) == len(lower) || !isWordByte(lower[i+len(k)])) {
			return len(k)
		}
	}
	return 0
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// valueEnd is where the value starting at i, of the key starting at key,
// ends. Where the syntaxes a DSN may be written in disagree, it is the
// latest of their ends: too much removed is better than a tail left.
func valueEnd(s string, key, i int) int {
	if i >= len(s) {
		return i
	}
	if key > 0 && (s[key-1] == '?' || s[key-1] == '&') {
		// A URL query: percent-encoded, to the next parameter.
		for j := i; j < len(s); j++ {
			if strings.IndexByte("&#; \t\r\n\"'`", s[j]) >= 0 {
				return j
			}
		}
		return len(s)
	}
	switch s[i] {
	case '\'', '"':
		// libpq and JSON escape with a backslash, ADO doubles the
		// quote.
		return max(quotedEnd(s, i, true), quotedEnd(s, i, false))
	case '{':
		// ODBC braces, or a libpq value that starts with a brace.
		return max(braceEnd(s, i), unquotedEnd(s, key, i))
	}
	return unquotedEnd(s, key, i)
}

// quotedEnd is the end of the value quoted at i: past its closing quote,
// a doubled quote standing for one and, with backslash, "\" escaping the
// next character. Never closed, it runs to the end.
func quotedEnd(s string, i int, backslash bool) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslash && s[j] == '\\' && j+1 < len(s):
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return len(s)
}

// braceEnd is the end of an ODBC {value}, "}}" standing for "}".
func braceEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		if s[j] == '}' {
			if j+1 < len(s) && s[j+1] == '}' {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// unquotedEnd is the end of an unquoted value, told by what stands before
// its key: ";" an ADO or JDBC string (to the next ";", blanks and "="
// included), a blank a libpq DSN (to a blank followed by the next key=,
// "\" escaping); where nothing tells (the key starts the text), the later
// of the two.
func unquotedEnd(s string, key, i int) int {
	before := key - 1
	for before >= 0 && (s[before] == ' ' || s[before] == '\t') {
		before--
	}
	switch {
	case before >= 0 && s[before] == ';':
		return adoEnd(s, i)
	case before >= 0 && before < key-1:
		return libpqEnd(s, i)
	}
	return max(adoEnd(s, i), libpqEnd(s, i))
}

// adoEnd is the end of an unquoted ADO value: the next ";" or line end.
func adoEnd(s string, i int) int {
	if k := strings.IndexAny(s[i:], ";\r\n"); k >= 0 {
		return i + k
	}
	return len(s)
}

// libpqEnd is the end of an unquoted libpq value: a blank followed by
// the next key=, or the line's end; "\" escapes the next character.
func libpqEnd(s string, i int) int {
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\r', '\n':
			return j
		case '\\':
			j++
		case ' ', '\t':
			if nextIsKey(s, j) {
				return j
			}
		}
	}
	return len(s)
}

// nextIsKey tells whether a key= (the next pair of a libpq DSN or of a
// logfmt line) follows the blanks at i.
func nextIsKey(s string, i int) bool {
	i = skipBlanks(s, i)
	start := i
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return i > start && i < len(s) && s[i] == '='
}

// redactUserinfo replaces the password of every user:password@host.
func redactUserinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		start, end := tokenAt(s, i)
		if end == start {
			i++
			continue
		}
		if p0, p1, ok := passwordSpan(s[start:end]); ok {
			b.WriteString(s[last : start+p0])
			b.WriteString(Redacted)
			last = start + p1
		}
		i = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// tokenAt is the word starting at i: up to a blank or a character that
// cannot be part of a URL's authority, even unescaped (Go's url package
// leaves "'(),;=" as they are in a password).
func tokenAt(s string, i int) (int, int) {
	j := i
	for j < len(s) && !isTokenEnd(s[j]) {
		j++
	}
	return i, j
}

func isTokenEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '`', '<', '>':
		return true
	}
	return false
}

// passwordSpan finds the password in one token holding a URL or a bare
// user:password@host, as offsets into tok.
func passwordSpan(tok string) (int, int, bool) {
	auth := 0
	if k := strings.Index(tok, "://"); k >= 0 {
		auth = k + 3
	}
	// The authority runs to the path, query or fragment; the user
	// information to its last "@" (an "@" in the password is taken in).
	rest := tok[auth:]
	end := len(rest)
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		// An "@" past the first "/" still belongs to the user
		// information when nothing after it looks like a path: a raw
		// "/" in a password.
		if at := strings.LastIndex(rest, "@"); at > k && !strings.ContainsAny(rest[at:], "/?#") {
			end = len(rest)
		} else {
			end = k
		}
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return 0, 0, false
	}
	colon := strings.Index(rest[:at], ":")
	if colon < 0 {
		return 0, 0, false
	}
	if colon+1 == at {
		return 0, 0, false // no password
	}
	return auth + colon + 1, auth + at, true
}
