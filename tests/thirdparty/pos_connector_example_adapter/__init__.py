"""An example EDMS adapter written by a third party against connector's public interface."""
