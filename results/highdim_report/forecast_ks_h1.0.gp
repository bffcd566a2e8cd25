set encoding utf8
set datafile missing '?'
set terminal svg size 720,760 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'forecast_ks_h1.0.svg.tmp'
set grid lc rgb '#dddddd'
set key top right horizontal noenhanced font ',11'
set multiplot layout 3,1 title "Forecasts against the truth from one test state, ks h = 1.0" noenhanced
set ylabel 'z1'
set yrange [-2.277:2.933]
unset xlabel
plot 'forecast_ks_h1.0.dat' index 0 using 1:2 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_ks_h1.0.dat' index 1 using 1:2 with lines lw 2 dt 1 lc 1 title 'euler', \
     'forecast_ks_h1.0.dat' index 2 using 1:2 with lines lw 2 dt 2 lc 2 title 'rk4', \
     'forecast_ks_h1.0.dat' index 3 using 1:2 with lines lw 2 dt 1 lc 3 title 'dopri8', \
     'forecast_ks_h1.0.dat' index 4 using 1:2 with lines lw 2 dt 2 lc 4 title 'trk10'
unset key
set ylabel 'z2'
set yrange [-2.786:3.029]
unset xlabel
plot 'forecast_ks_h1.0.dat' index 0 using 1:3 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_ks_h1.0.dat' index 1 using 1:3 with lines lw 2 dt 1 lc 1 title 'euler', \
     'forecast_ks_h1.0.dat' index 2 using 1:3 with lines lw 2 dt 2 lc 2 title 'rk4', \
     'forecast_ks_h1.0.dat' index 3 using 1:3 with lines lw 2 dt 1 lc 3 title 'dopri8', \
     'forecast_ks_h1.0.dat' index 4 using 1:3 with lines lw 2 dt 2 lc 4 title 'trk10'
set ylabel 'z3'
set yrange [-2.97:2.918]
set xlabel 'lead time'
plot 'forecast_ks_h1.0.dat' index 0 using 1:4 with lines lw 3 lc rgb '#000000' title 'truth', \
     'forecast_ks_h1.0.dat' index 1 using 1:4 with lines lw 2 dt 1 lc 1 title 'euler', \
     'forecast_ks_h1.0.dat' index 2 using 1:4 with lines lw 2 dt 2 lc 2 title 'rk4', \
     'forecast_ks_h1.0.dat' index 3 using 1:4 with lines lw 2 dt 1 lc 3 title 'dopri8', \
     'forecast_ks_h1.0.dat' index 4 using 1:4 with lines lw 2 dt 2 lc 4 title 'trk10'
unset multiplot
