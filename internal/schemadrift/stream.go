package schemadrift

import (
	"context"
	"errors"
)

// TopicReader reads a topic's value schema from where it can be found.
type TopicReader struct {
	// Registry is the Schema Registry the converters use; nil for none.
	Registry *Registry
	// Newest reads the value of the topic's newest record
	// (kafka.Client.NewestValue); nil without Kafka.
	Newest func(ctx context.Context, topic string) (value []byte, ok bool, err error)
}

// Fields returns the row's fields of topic's value schema: the
// registry's latest subject version when the registry has the subject,
// else the inline schema of the newest record (JSON converter with
// schemas.enable=true). ok is false when neither has one.
func (r TopicReader) Fields(ctx context.Context, topic string) (fields []string, ok bool, err error) {
	if r.Registry != nil {
		fields, ok, err = r.Registry.Fields(ctx, topic)
		if err != nil || ok {
			return fields, ok, err
		}
	}
	if r.Newest == nil {
		return nil, false, nil
	}
	value, ok, err := r.Newest(ctx, topic)
	if err != nil || !ok {
		return nil, false, err
	}
	fields, err = InlineFields(value)
	if errors.Is(err, ErrNoInlineSchema) {
		return nil, false, nil
	}
	return fields, err == nil, err
}
