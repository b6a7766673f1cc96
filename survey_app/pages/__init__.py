"""The app's pages, one module each; :data:`survey_app.app.PAGES` lists them."""
