package schemadrift

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Registry reads a topic's value schema from Confluent Schema Registry:
// the latest version of subject <topic>-value (TopicNameStrategy, the
// converters' default).
type Registry struct {
	URL string
	// HTTP carries the registry's auth and TLS; nil for none.
	HTTP *http.Client
}

// Fields returns the row's fields of topic's latest value schema; ok is
// false when the registry has no such subject (404): the topic is not
// written with a registry-backed converter.
func (r *Registry) Fields(ctx context.Context, topic string) (fields []string, ok bool, err error) {
	u := strings.TrimSuffix(r.URL, "/") + "/subjects/" + url.PathEscape(topic+"-value") + "/versions/latest"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("schema registry: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("schema registry: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, false, fmt.Errorf("schema registry: subject %s-value: %w", topic, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, nil
	case resp.StatusCode != http.StatusOK:
		return nil, false, fmt.Errorf("schema registry: subject %s-value: %s", topic, resp.Status)
	}
	var v struct {
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, false, fmt.Errorf("schema registry: subject %s-value: %w", topic, err)
	}
	fields, err = RegistryFields(v.SchemaType, v.Schema)
	if err != nil {
		return nil, false, fmt.Errorf("schema registry: subject %s-value: %w", topic, err)
	}
	return fields, true, nil
}
