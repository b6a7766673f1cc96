"""The survey app: Streamlit pages, the response store, the command-line tool, the Excel writer."""
