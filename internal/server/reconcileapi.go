package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cdc-sentinel/cdc-sentinel/internal/reconcile"
)

// RegisterReconcile mounts the reconcile API of r on mux:
//
//	POST /api/v1/reconcile?table=NAME[&repair=true][&delete_extra=true][&max_deletes=N] → 202 {"id"}
//	GET  /api/v1/reconcile[?table=NAME][&limit=N] → {"jobs": [...]}, newest first
//	GET  /api/v1/reconcile/{id} → the job with its progress and report
func RegisterReconcile(mux *http.ServeMux, r *reconcile.Runner) {
	api := reconcileAPI{r}
	mux.HandleFunc("POST /api/v1/reconcile", api.handleStart)
	mux.HandleFunc("GET /api/v1/reconcile", api.handleList)
	mux.HandleFunc("GET /api/v1/reconcile/{id}", api.handleGet)
}

// reconcileAPI answers the reconcile API from a Runner: it reads the
// parameters and maps the Runner's answers to status codes; the Runner
// decides what runs.
type reconcileAPI struct{ r *reconcile.Runner }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the status line is out; a failed write has no one to tell
}

// apiError answers code with {"error": msg}.
func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// queryParams returns the request's query, refusing a parameter not in
// known, or one given twice: a misspelt option must not silently run a
// different reconcile.
func queryParams(req *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("malformed query: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("unknown parameter %q (known: %s)", name, strings.Join(known, ", "))
		}
		if len(q[name]) > 1 {
			return nil, fmt.Errorf("parameter %q given %d times", name, len(q[name]))
		}
	}
	return q, nil
}

// boolParam is a true/false parameter; absent is false.
func boolParam(q url.Values, name string) (bool, error) {
	v, ok := q[name]
	if !ok {
		return false, nil
	}
	switch v[0] {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want true or false", name, v[0])
}

// startOptions reads POST /api/v1/reconcile's parameters.
func (a reconcileAPI) startOptions(req *http.Request) (string, reconcile.StartOptions, int, error) {
	q, err := queryParams(req, "delete_extra", "max_deletes", "repair", "table")
	if err != nil {
		return "", reconcile.StartOptions{}, http.StatusBadRequest, err
	}
	table := q.Get("table")
	if table == "" {
		return "", reconcile.StartOptions{}, http.StatusBadRequest, errors.New("the table parameter is required")
	}
	var o reconcile.StartOptions
	if o.Repair, err = boolParam(q, "repair"); err != nil {
		return "", o, http.StatusBadRequest, err
	}
	if o.DeleteExtra, err = boolParam(q, "delete_extra"); err != nil {
		return "", o, http.StatusBadRequest, err
	}
	asked := 0
	if m, ok := q["max_deletes"]; ok {
		n, err := strconv.Atoi(m[0])
		if err != nil || n < 1 {
			return "", o, http.StatusBadRequest, fmt.Errorf("max_deletes=%q: want a number of rows, at least 1", m[0])
		}
		asked = n
	}
	if asked > 0 {
		// Checked before starting, so a request above the table's cap
		// is answered 400 rather than failing as a job.
		if o.MaxDeletes, err = a.r.DeleteCap(table, asked); errors.Is(err, reconcile.ErrUnknownTable) {
			return "", o, http.StatusNotFound, err
		} else if err != nil {
			return "", o, http.StatusBadRequest, err
		}
	}
	if o.DeleteExtra && !o.Repair {
		return "", o, http.StatusBadRequest, errors.New("delete_extra=true needs repair=true")
	}
	if o.DeleteExtra && !a.r.Limits().HTTPDeleteExtra {
		return "", o, http.StatusForbidden, errors.New("delete_extra is not allowed over HTTP: set reconcile.http_delete_extra: true in the configuration, or run `cdc-sentinel reconcile --repair --delete-extra`")
	}
	return table, o, 0, nil
}

func (a reconcileAPI) handleStart(w http.ResponseWriter, req *http.Request) {
	table, o, code, err := a.startOptions(req)
	if err != nil {
		apiError(w, code, err.Error())
		return
	}
	id, err := a.r.Start(req.Context(), table, o)
	switch {
	case errors.Is(err, reconcile.ErrUnknownTable):
		apiError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, reconcile.ErrRunning):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "id": id})
	case errors.Is(err, reconcile.ErrClosed):
		apiError(w, http.StatusServiceUnavailable, err.Error())
	case err != nil:
		apiError(w, http.StatusBadRequest, err.Error())
	default:
		w.Header().Set("Location", "/api/v1/reconcile/"+id)
		writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
	}
}

// Limits of GET /api/v1/reconcile.
const (
	defaultListLimit = 20
	maxListLimit     = 100
)

// handleList lists the jobs kept (the last 100 finished and those
// running), newest first: table= keeps one table's, limit= (default 20,
// at most 100) the newest N.
func (a reconcileAPI) handleList(w http.ResponseWriter, req *http.Request) {
	q, err := queryParams(req, "limit", "table")
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit := defaultListLimit
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxListLimit {
			apiError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want a number from 1 to %d", v[0], maxListLimit))
			return
		}
		limit = n
	}
	table := q.Get("table")
	if table != "" && !a.r.Knows(table) && len(a.r.List(table)) == 0 {
		apiError(w, http.StatusNotFound, fmt.Sprintf("%v %q", reconcile.ErrUnknownTable, table))
		return
	}
	jobs := a.r.List(table)
	if len(jobs) > limit {
		jobs = jobs[:limit]
	}
	writeJSON(w, http.StatusOK, map[string][]reconcile.Job{"jobs": jobs})
}

func (a reconcileAPI) handleGet(w http.ResponseWriter, req *http.Request) {
	j, ok := a.r.Get(req.PathValue("id"))
	if !ok {
		apiError(w, http.StatusNotFound, "no reconcile with id "+req.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, j)
}
