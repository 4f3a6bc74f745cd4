"""The staff side: exports, the report, 'you said, we did' actions and update messages."""
