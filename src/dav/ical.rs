//! A client's VTODO in the model's terms, and the model's fields merged back into what it stored.
