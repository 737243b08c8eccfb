DROP TABLE events;
DROP TABLE revocations;
