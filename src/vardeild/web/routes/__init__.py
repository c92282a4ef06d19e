"""One module per resource of the API; each holds an `APIRouter` named `router`."""
