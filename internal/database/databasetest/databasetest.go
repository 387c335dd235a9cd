// Package databasetest gives tests a database/sql pool on go-sqlmock that
// matches each query to the letter and fails the test when one it was
// told to expect never came. It returns the pool, not a database.DB, so
// that package database's own tests can use it too; the others wrap it
// with database.NewWithPool. Tests only: the binary never imports it.
package databasetest

import (
	"database/sql"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
)

// Mock is a pool whose queries go to the returned mock, matched exactly;
// when the test ends, every expectation set on the mock must have been
// met, and the pool is closed.
func Mock(t testing.TB) (*sql.DB, sqlmock.Sqlmock) {
	t.Helper()
	pool, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mock.ExpectationsWereMet(); err != nil {
			t.Error(err)
		}
		pool.Close()
	})
	return pool, mock
}
