"""The groupbuy service: joint purchases, size rows, partners."""
