package sqldialect

import (
	"fmt"

	"github.com/cdc-sentinel/cdc-sentinel/internal/rowhash"
)

// DeleteCopies is a statement deleting at most n rows of table that
// match cond and whose row hash over cols (as Hashed computes it) is h.
// SQL Server has no physical row id a statement may name, so surplus
// copies of a key are told apart by their content alone: DELETE TOP (n)
// deletes n of the matching rows, chosen at random (Microsoft's DELETE
// documentation), and any n of identical copies are the same n. A copy
// changed since it was read no longer matches h and is left alone, and
// n below the copies read keeps at least one.
func (s SQLServer) DeleteCopies(table string, cols []Column, cond string, h rowhash.Hash, n int) string {
	return fmt.Sprintf("DELETE TOP (%d) FROM %s WHERE (%s) AND SUBSTRING(HASHBYTES('MD5', %s), 1, 8) = 0x%08X%08X",
		n, s.QuoteTable(table), cond, s.Encode(cols), uint32(h.A), uint32(h.B))
}
