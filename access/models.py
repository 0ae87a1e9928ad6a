"""No models: the roles are auth Groups. The module exists so that Django sends this app
``post_migrate`` (it skips apps without one), which re-creates the roles after a flush."""
