"""The round by mail: forms sent out to each employee, and replies read straight from mail."""
