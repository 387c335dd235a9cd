package sqldialect

import "strings"

// FindColumn returns the element of cols that names column name (nameOf
// reads an element's name): an exact match first, else one equal
// ignoring case. The sinks fold identifiers' case (PostgreSQL to lower
// case unless quoted), so a column is the same whatever case one side
// gives it; an exact match wins where both spellings exist. Every
// comparison of a column's name across sides or layers goes through it.
func FindColumn[C any](cols []C, name string, nameOf func(C) string) (C, bool) {
	for _, c := range cols {
		if nameOf(c) == name {
			return c, true
		}
	}
	for _, c := range cols {
		if strings.EqualFold(nameOf(c), name) {
			return c, true
		}
	}
	var none C
	return none, false
}

// HasColumn reports whether names holds column name, as FindColumn
// matches it.
func HasColumn(names []string, name string) bool {
	_, ok := FindColumn(names, name, func(n string) string { return n })
	return ok
}
