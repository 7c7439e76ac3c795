"""Quality objectives and measurements, customer feedback, management reviews, the trail."""
