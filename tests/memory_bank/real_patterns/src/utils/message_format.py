def format_message(m):
    return m
